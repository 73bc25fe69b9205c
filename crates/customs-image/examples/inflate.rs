//! Inflates one gzip blob on one thread with the workspace's flate2 (zlib-rs backend) and
//! prints the compressed and inflated byte counts and the wall time: the floor that
//! `customs sbom` of a one-layer image is measured against (`bench/onepass.sh`). No digest,
//! no tar, no allocation per chunk.
//!
//! `cargo run --release -p customs-image --example inflate -- BLOB`

use std::io::Read;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: inflate BLOB");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        eprintln!("error: {path}: {e}");
        std::process::exit(2);
    });
    let compressed = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = Instant::now();
    let mut gz = flate2::read::GzDecoder::new(std::io::BufReader::with_capacity(256 << 10, file));
    let mut buf = vec![0u8; 256 << 10];
    let mut total: u64 = 0;
    loop {
        match gz.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) => {
                eprintln!("error: {path}: {e}");
                std::process::exit(1);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{compressed} {total} {secs:.4}");
}
