//! Progress bars on a terminal; nothing when output is piped or machine-readable.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether progress may be drawn: stderr is a terminal and the output is for people.
pub fn enabled(machine_output: bool) -> bool {
    !machine_output && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// Draws a bar over every layer blob byte `image` reads from now on, when output goes to a
/// terminal (stdout and stderr) and is not machine-readable. Clear it with `finish_and_clear`.
pub fn attach(image: &mut customs_image::Image, machine_output: bool) -> ProgressBar {
    let show = enabled(machine_output) && std::io::stdout().is_terminal();
    let total: u64 = image.layers.iter().map(|l| l.descriptor.size).sum();
    let pb = bytes(show, total, format!("reading {}", image.name));
    if show {
        let bar = pb.clone();
        image.set_progress(std::sync::Arc::new(move |n| bar.inc(n)));
    }
    pb
}

/// A bar over `total` bytes, or a hidden one.
pub fn bytes(enabled: bool, total: u64, message: String) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(message);
    pb
}
