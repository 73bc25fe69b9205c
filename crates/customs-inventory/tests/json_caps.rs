//! Typed, capped JSON manifests (issue 12, "huge .deps.json files"): the readers of
//! `.deps.json`, `package.json`, `package-lock.json`, `composer.lock` and `installed.json`
//! build only the fields they use, so a large synthetic file whose bulk is fields they skip
//! costs a bounded amount of memory beyond its bytes (a `serde_json::Value` tree costs many
//! times the file); and a file over `MAX_JSON_BYTES` is skipped with a warning before it is
//! read. Memory is measured by a counting allocator in this test binary.

use std::sync::Mutex;

use customs_image::{Image, OpenOptions};
use customs_inventory::json::MAX_JSON_BYTES;
use customs_inventory::{dotnet, npm, php, scan_image, ScanOptions};
use customs_testkit::alloc::{peak_during, Counting};
use customs_testkit::oci;

/// Tests run on several threads; measurements take turns.
static SERIAL: Mutex<()> = Mutex::new(());

#[global_allocator]
static ALLOC: Counting = Counting;

const MIB: usize = 1 << 20;
/// Each synthetic file is about this large.
const SIZE: usize = 24 * MIB;

/// `n` JSON object members `"kN":{"a":[1,2,3],"b":"xxxxxxxx"}` joined by commas: the kind
/// of bulk (`targets`, `scripts`, `integrity`, ...) the readers skip.
fn bulk(n: usize) -> String {
    let mut s = String::with_capacity(n * 40);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("\"k{i}\":{{\"a\":[1,2,3],\"b\":\"xxxxxxxx\"}}"));
    }
    s
}

fn members_for(size: usize) -> usize {
    size / 40
}

fn check(label: &str, data: &[u8], parse: impl FnOnce(&[u8]) -> usize, want: usize) {
    assert!(data.len() > SIZE / 2, "{label}: synthetic file too small");
    let (found, peak) = peak_during(|| parse(data));
    eprintln!(
        "{label}: {} MiB file, {} packages, peak {:.2} MiB above the file",
        data.len() / MIB,
        found,
        peak as f64 / MIB as f64
    );
    assert_eq!(found, want, "{label}: packages");
    // A Value tree of this file is well over 10x its size; typed parsing allocates only
    // the packages and the parser's scratch space.
    assert!(
        peak < 2 * MIB,
        "{label}: {peak} bytes allocated while parsing a {}-byte file",
        data.len()
    );
}

#[test]
fn huge_deps_json_parses_in_bounded_memory() {
    let _g = SERIAL.lock().unwrap();
    let n = members_for(SIZE);
    let data = format!(
        "{{\"runtimeTarget\":{{\"name\":\".NETCoreApp,Version=v8.0\"}},\"targets\":{{\".NETCoreApp,Version=v8.0\":{{{}}}}},\
         \"libraries\":{{\"Newtonsoft.Json/13.0.1\":{{\"type\":\"package\",\"sha512\":\"x\"}},\"Ref/1.0\":{{\"type\":\"reference\"}}}}}}",
        bulk(n)
    );
    check(
        "deps.json",
        data.as_bytes(),
        |d| dotnet::parse("app/App.deps.json", d).unwrap().len(),
        1,
    );
}

#[test]
fn huge_package_json_and_lock_parse_in_bounded_memory() {
    let _g = SERIAL.lock().unwrap();
    let n = members_for(SIZE);
    let manifest = format!(
        "{{\"name\":\"app\",\"version\":\"1.0.0\",\"private\":true,\"scripts\":{{{}}},\"license\":\"MIT\"}}",
        bulk(n)
    );
    check(
        "package.json",
        manifest.as_bytes(),
        |d| npm::parse("srv/app/package.json", d).unwrap().len(),
        1,
    );
    drop(manifest);
    // A lockfile whose entries carry large skipped fields.
    let mut lock = String::from("{\"name\":\"app\",\"version\":\"1.0.0\",\"lockfileVersion\":3,\"packages\":{\"\":{\"name\":\"app\",\"version\":\"1.0.0\"}");
    let entries = 200;
    let per = members_for(SIZE) / entries;
    for i in 0..entries {
        lock.push_str(&format!(
            ",\"node_modules/p{i}\":{{\"version\":\"1.0.{i}\",\"dependencies\":{{{}}}}}",
            bulk(per)
        ));
    }
    lock.push_str("}}");
    check(
        "package-lock.json",
        lock.as_bytes(),
        |d| npm::parse("srv/app/package-lock.json", d).unwrap().len(),
        entries + 1,
    );
}

#[test]
fn huge_composer_files_parse_in_bounded_memory() {
    let _g = SERIAL.lock().unwrap();
    let n = members_for(SIZE);
    let lock = format!(
        "{{\"_readme\":[\"x\"],\"content-hash\":\"h\",\"packages\":[{{\"name\":\"psr/log\",\"version\":\"1.1.4\",\"autoload\":{{{}}}}}],\"packages-dev\":[]}}",
        bulk(n)
    );
    check(
        "composer.lock",
        lock.as_bytes(),
        |d| php::parse("app/composer.lock", d).unwrap().len(),
        1,
    );
    drop(lock);
    let installed = format!(
        "{{\"packages\":[{{\"name\":\"psr/log\",\"version\":\"1.1.4\",\"extra\":{{{}}}}}],\"dev\":true}}",
        bulk(n)
    );
    check(
        "installed.json",
        installed.as_bytes(),
        |d| {
            php::parse("app/vendor/composer/installed.json", d)
                .unwrap()
                .len()
        },
        1,
    );
}

#[test]
fn json_manifest_over_the_cap_is_skipped_with_a_warning_unread() {
    let _g = SERIAL.lock().unwrap();
    // A .deps.json one byte over the cap, streamed from a layer on disk: the scan must warn
    // and skip it without allocating anything like its size.
    let size = MAX_JSON_BYTES as usize + 1;
    let mut tar = oci::header("app/App.deps.json", b'0', size as u64, "");
    tar.resize(tar.len() + size.div_ceil(512) * 512, b' ');
    tar.extend(oci::file(
        "srv/app/package.json",
        br#"{"name":"app","version":"1.0.0","private":true}"#,
    ));
    let layout = oci::Layout::new(&oci::end(tar));
    let image = Image::open_str(&layout.target(), &OpenOptions::default()).unwrap();
    let (inv, peak) = peak_during(|| {
        scan_image(&image, &ScanOptions::default())
            .unwrap()
            .inventory
    });
    eprintln!("over-cap scan: peak {:.2} MiB", peak as f64 / MIB as f64);
    let w: Vec<_> = inv
        .warnings
        .iter()
        .filter(|w| w.path == "/app/App.deps.json")
        .collect();
    assert_eq!(w.len(), 1, "{:?}", inv.warnings);
    assert!(w[0].message.contains("JSON limit"), "{}", w[0].message);
    assert!(
        inv.damaged.is_empty(),
        "a manifest is not a package database"
    );
    assert!(peak < 16 * MIB, "{peak} bytes allocated for a skipped file");
    // The rest of the layer is still read.
    let app = inv.packages.iter().find(|p| p.name == "app").unwrap();
    assert!(app.root && app.private);
}
