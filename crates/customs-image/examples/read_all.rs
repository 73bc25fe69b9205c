//! Reads every file of every layer of an image through the filesystem walker, verifying
//! digests, and prints the byte count: the decompression-throughput benchmark's subject.
//!
//! `cargo run --release -p customs-image --example read_all -- IMAGE`

fn main() {
    let target = std::env::args().nth(1).expect("usage: read_all IMAGE");
    let image = customs_image::Image::open_str(&target, &Default::default()).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    });
    let mut total: u64 = 0;
    let mut files: u64 = 0;
    let mut buf = vec![0u8; 256 * 1024];
    let mut fs = customs_image::FileSystem::new();
    for i in 0..image.layers.len() {
        let s = customs_image::summary::stream_layer(&image, i, |e, r| {
            if e.is_file() {
                files += 1;
                loop {
                    let n = r.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2);
        });
        fs.apply_layer(&s.entries);
    }
    println!("{files} files, {total} bytes, {} paths visible", fs.len());
}
