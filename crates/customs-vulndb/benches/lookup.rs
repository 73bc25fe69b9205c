//! Lookup cost per package, and build time, on the database built from `../shared/vulndata`.
//! Run with `cargo bench -p customs-vulndb --bench lookup`.

use customs_vulndb::{build, Database, Source};
use std::path::PathBuf;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

fn vulndata() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vulndata"
    ))
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    keys: Vec<(String, String)>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vuln.db");
        let report = build(&Source::discover(&vulndata()).unwrap(), &path, None).unwrap();
        eprintln!(
            "build: {:?}, {} bytes, {} records, {:.1} bytes/record, {} advisory entries, {} keys",
            report.duration,
            report.bytes,
            report.metadata.records,
            report.bytes as f64 / report.metadata.records as f64,
            report.metadata.advisories,
            report.metadata.packages
        );
        let keys = Database::open(&path).unwrap().keys();
        Fixture {
            _dir: dir,
            path,
            keys,
        }
    })
}

/// Every stored package once, then as many absent ones, through a fresh database (cold
/// block cache at the start of each sample).
#[divan::bench(sample_count = 20)]
fn lookup_every_package_cold(bencher: divan::Bencher) {
    let f = fixture();
    bencher
        .counter(divan::counter::ItemsCount::new(f.keys.len() * 2))
        .with_inputs(|| Database::open(&f.path).unwrap())
        .bench_local_values(|db| {
            let mut n = 0;
            for (eco, name) in &f.keys {
                n += db.lookup(eco, name).unwrap().len();
                n += db.lookup(eco, &format!("{name}-absent")).unwrap().len();
            }
            n
        });
}

/// Packages absent from the database: the common case for most of an image's packages.
#[divan::bench]
fn lookup_absent(bencher: divan::Bencher) {
    let f = fixture();
    let db = Database::open(&f.path).unwrap();
    bencher.bench_local(|| {
        db.lookup("PyPI", divan::black_box("surely-not-a-package"))
            .unwrap()
            .len()
    });
}

/// A typical hit, with the block cached.
#[divan::bench]
fn lookup_hit_warm(bencher: divan::Bencher) {
    let f = fixture();
    let db = Database::open(&f.path).unwrap();
    bencher.bench_local(|| {
        db.lookup("Alpine:v3.11", divan::black_box("openssl"))
            .unwrap()
            .len()
    });
}

/// Opening verifies the checksum of the whole file.
#[divan::bench(sample_count = 20)]
fn open(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench_local(|| Database::open(&f.path).unwrap().metadata().records);
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn build_shared_vulndata(bencher: divan::Bencher) {
    let sources = Source::discover(&vulndata()).unwrap();
    bencher.bench_local(|| customs_vulndb::build_bytes(&sources, None).unwrap().0.len());
}

/// The packages of the four shared images (203 in all), inventoried once.
fn image_inventories() -> &'static Vec<customs_inventory::Inventory> {
    static I: OnceLock<Vec<customs_inventory::Inventory>> = OnceLock::new();
    I.get_or_init(|| {
        [
            "alpine-3.10.tar",
            "alpine-3.11.tar.gz",
            "app-multi.oci.tar",
            "debian-bookworm-minbase.oci.tar",
        ]
        .iter()
        .map(|f| {
            let p = vulndata().join("../images").join(f);
            let image =
                customs_image::Image::open_str(p.to_str().unwrap(), &Default::default()).unwrap();
            customs_inventory::scan_image(&image, &Default::default())
                .unwrap()
                .inventory
        })
        .collect()
    })
}

/// What a scan pays per package: every package of every shared image looked up and matched
/// (version comparisons, alias merging, findings built) on a fresh database, so every block
/// it touches is decompressed in the sample.
#[divan::bench(sample_count = 20)]
fn match_image_packages_cold(bencher: divan::Bencher) {
    let f = fixture();
    let invs = image_inventories();
    let packages: usize = invs.iter().map(|i| i.packages.len()).sum();
    bencher
        .counter(divan::counter::ItemsCount::new(packages))
        .with_inputs(|| Database::open(&f.path).unwrap())
        .bench_local_values(|db| {
            let mut findings = 0;
            for inv in invs {
                findings += customs_vulndb::match_inventory(&db, inv).findings.len();
            }
            findings
        });
}
