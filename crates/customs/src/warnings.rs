//! Warnings leave the binary one way: collected from every library result as
//! [`Warning`]s and printed here, once, at the end of a command, each on its own line and then
//! counted. Nothing in a library prints.

use customs_inventory::Warning;

/// Prints each warning through the logger (shown by default; `RUST_LOG=error` silences them)
/// and then how many there were.
pub fn print(warnings: &[Warning]) {
    for w in warnings {
        match &w.layer {
            Some(layer) => log::warn!(
                "{} (layer {}): {}",
                w.path,
                &layer[..layer.len().min(19)],
                w.message
            ),
            None => log::warn!("{}: {}", w.path, w.message),
        }
    }
    if !warnings.is_empty() {
        eprintln!("{} warning(s)", warnings.len());
    }
}
