//! Go binaries are read without holding them (issue 12, "Peak memory grows with Go
//! binaries"): scanning a layer with a 48 MiB Go executable (the shared fixture's ELF padded
//! with zeros) allocates a few MiB, not the binary's size, and still finds its modules.
//! Measured with a counting allocator in this test binary (mapped pages are not allocations,
//! which is the point: only the pages the build-info reader touches are ever resident).

use std::path::Path;

use customs_image::{Image, OpenOptions};
use customs_inventory::{scan_image, ScanOptions};
use customs_testkit::alloc::{peak_during, Counting};
use customs_testkit::ocibuild::{self, file};

#[global_allocator]
static ALLOC: Counting = Counting;

const MIB: usize = 1 << 20;

#[test]
fn a_large_go_binary_is_scanned_without_holding_it() {
    let elf =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../../shared/fixtures/go-binaries/binary_with_module_replacement-linux-amd64",
        ))
        .unwrap();
    let mut big = elf.clone();
    big.resize(48 * MIB, 0);
    let dir = tempfile::tempdir().unwrap();
    let spec = ocibuild::Spec {
        layers: vec![vec![file("usr/local/bin/big", big).mode(0o755)]],
        ..Default::default()
    };
    let target = ocibuild::build(dir.path(), &spec);
    drop(spec);
    let image = Image::open_str(&target, &OpenOptions::default()).unwrap();

    let (inv, peak) = peak_during(|| {
        scan_image(&image, &ScanOptions::default())
            .unwrap()
            .inventory
    });
    eprintln!(
        "48 MiB Go binary: peak {:.2} MiB allocated",
        peak as f64 / MIB as f64
    );

    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"stdlib"), "{names:?}");
    assert!(
        names.contains(&"github.com/golang/xerrors"),
        "the replacement module is read from the padded binary: {names:?}"
    );
    assert!(
        peak < 8 * MIB,
        "{peak} bytes allocated to scan a 48 MiB binary"
    );
}
