//! Go binaries are read without holding them (issue 12, "Peak memory grows with Go
//! binaries"): scanning a layer with a 48 MiB Go executable (the shared fixture's ELF padded
//! with zeros) allocates a few MiB, not the binary's size, and still finds its modules.
//! Measured with a counting allocator in this test binary (mapped pages are not allocations,
//! which is the point: only the pages the build-info reader touches are ever resident).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use customs_image::{Image, OpenOptions};
use customs_inventory::{scan_image, ScanOptions};
use customs_testkit::ocibuild::{self, file};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

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

    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let inv = scan_image(&image, &ScanOptions::default())
        .unwrap()
        .inventory;
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
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
