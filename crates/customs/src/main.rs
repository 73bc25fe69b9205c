//! The `customs` command line: argument parsing and wiring only.

fn main() {
    println!("customs");
}
