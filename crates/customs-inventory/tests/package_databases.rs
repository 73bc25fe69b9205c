//! The package databases are read as extraction leaves them (issue 12): through hardlinks and
//! symlinks (of the file or of a directory above it), the last copy of a path written twice in
//! one layer, and a damaged database is reported as damaged, not skipped with a warning.

use customs_image::{Image, OpenOptions};
use customs_inventory::{scan_image, Inventory, ScanOptions};
use customs_testkit::{oci, ocibuild};

const OS_RELEASE: &[u8] = b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
const APK_OS_RELEASE: &[u8] = b"ID=alpine\nVERSION_ID=3.19.1\n";

fn status(name: &str, version: &str) -> String {
    format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n")
}

fn apk_db(name: &str, version: &str) -> String {
    format!("P:{name}\nV:{version}\nA:x86_64\nL:MIT\no:{name}\n\n")
}

/// An inventory of a one-layer image made of raw tar entries.
fn scan_raw(tar: Vec<u8>) -> Inventory {
    let layout = oci::Layout::new(&oci::end(tar));
    let image = Image::open_str(&layout.target(), &OpenOptions::default()).unwrap();
    scan_image(&image, &ScanOptions::default())
        .unwrap()
        .inventory
}

fn scan_layers(layers: Vec<Vec<ocibuild::Entry>>) -> Inventory {
    let dir = tempfile::tempdir().unwrap();
    let spec = ocibuild::Spec {
        layers,
        ..Default::default()
    };
    let target = ocibuild::build(dir.path(), &spec);
    let image = Image::open_str(&target, &OpenOptions::default()).unwrap();
    scan_image(&image, &ScanOptions::default())
        .unwrap()
        .inventory
}

fn names(inv: &Inventory) -> Vec<(String, String, String)> {
    inv.packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.locations.join(",")))
        .collect()
}

fn one(name: &str, version: &str, location: &str) -> Vec<(String, String, String)> {
    vec![(name.into(), version.into(), location.into())]
}

#[test]
fn hardlinked_dpkg_status_is_read() {
    let mut tar = oci::file("etc/os-release", OS_RELEASE);
    tar.extend(oci::file(
        "tmp/status.real",
        status("openssl", "3.0.2-1").as_bytes(),
    ));
    tar.extend(oci::header(
        "var/lib/dpkg/status",
        b'1',
        0,
        "tmp/status.real",
    ));
    let inv = scan_raw(tar);
    assert_eq!(
        names(&inv),
        one("openssl", "3.0.2-1", "/var/lib/dpkg/status")
    );
    assert!(inv.damaged.is_empty());
}

#[test]
fn symlinked_dpkg_status_is_read() {
    let mut tar = oci::file("etc/os-release", OS_RELEASE);
    tar.extend(oci::file(
        "opt/db/status",
        status("openssl", "3.0.2-1").as_bytes(),
    ));
    tar.extend(oci::header(
        "var/lib/dpkg/status",
        b'2',
        0,
        "../../../opt/db/status",
    ));
    let inv = scan_raw(tar);
    assert_eq!(
        names(&inv),
        one("openssl", "3.0.2-1", "/var/lib/dpkg/status")
    );
}

#[test]
fn symlinked_apk_database_in_a_later_layer_is_read() {
    // Layer 0 holds the data under another name; layer 1 links the database path to it.
    let inv = scan_layers(vec![
        vec![
            ocibuild::file("etc/os-release", APK_OS_RELEASE),
            ocibuild::file("srv/installed", apk_db("busybox", "1.36.1-r15")),
        ],
        vec![ocibuild::symlink("lib/apk/db/installed", "/srv/installed")],
    ]);
    assert_eq!(
        names(&inv),
        one("busybox", "1.36.1-r15", "/lib/apk/db/installed")
    );
    assert_eq!(inv.packages[0].ecosystem, "Alpine");
}

#[test]
fn database_under_a_symlinked_directory_is_read() {
    let inv = scan_layers(vec![
        vec![
            ocibuild::file("etc/os-release", OS_RELEASE),
            ocibuild::dir("var"),
            ocibuild::dir("var/lib"),
            ocibuild::symlink("var/lib/dpkg", "/opt/dpkg"),
        ],
        vec![ocibuild::file(
            "opt/dpkg/status",
            status("libssl3", "3.0.11-1"),
        )],
    ]);
    assert_eq!(
        names(&inv),
        one("libssl3", "3.0.11-1", "/var/lib/dpkg/status")
    );
}

#[test]
fn a_database_replaced_by_a_link_in_a_later_layer_reads_the_link_target() {
    let inv = scan_layers(vec![
        vec![
            ocibuild::file("etc/os-release", OS_RELEASE),
            ocibuild::file("var/lib/dpkg/status", status("old", "1.0")),
            ocibuild::file("opt/status", status("new", "2.0")),
        ],
        vec![ocibuild::symlink("var/lib/dpkg/status", "/opt/status")],
    ]);
    assert_eq!(names(&inv), one("new", "2.0", "/var/lib/dpkg/status"));
}

#[test]
fn a_path_written_twice_in_one_layer_counts_as_its_last_copy() {
    let mut tar = oci::file("etc/os-release", OS_RELEASE);
    tar.extend(oci::file(
        "var/lib/dpkg/status",
        status("openssl", "1.1.1n-0").as_bytes(),
    ));
    tar.extend(oci::file(
        "var/lib/dpkg/status",
        status("openssl", "3.0.11-1").as_bytes(),
    ));
    let inv = scan_raw(tar);
    assert_eq!(
        names(&inv),
        one("openssl", "3.0.11-1", "/var/lib/dpkg/status")
    );

    // The same for a language manifest, and for a file replaced by a directory.
    let mut tar = oci::file(
        "app/node_modules/lodash/package.json",
        br#"{"name":"lodash","version":"4.17.20"}"#,
    );
    tar.extend(oci::file(
        "app/node_modules/lodash/package.json",
        br#"{"name":"lodash","version":"4.17.21"}"#,
    ));
    tar.extend(oci::file(
        "usr/lib/python3/dist-packages/six-1.0.dist-info/METADATA",
        b"Metadata-Version: 2.1\nName: six\nVersion: 1.0\n",
    ));
    tar.extend(oci::header(
        "usr/lib/python3/dist-packages/six-1.0.dist-info/METADATA",
        b'5',
        0,
        "",
    ));
    let inv = scan_raw(tar);
    assert_eq!(
        names(&inv),
        one("lodash", "4.17.21", "/app/node_modules/lodash/package.json")
    );
}

#[test]
fn a_nul_byte_in_dpkg_status_is_a_damaged_database() {
    let mut data = status("openssl", "3.0.2-1").into_bytes();
    data.insert(10, 0);
    let mut tar = oci::file("etc/os-release", OS_RELEASE);
    tar.extend(oci::file("var/lib/dpkg/status", &data));
    let inv = scan_raw(tar);
    assert!(inv.packages.is_empty());
    assert_eq!(inv.damaged.len(), 1, "{:?}", inv.warnings);
    assert_eq!(inv.damaged[0].path, "/var/lib/dpkg/status");
    assert!(inv.damaged[0].message.contains("NUL"), "{:?}", inv.damaged);
    assert!(inv.warnings.contains(&inv.damaged[0]));
}

#[test]
fn a_nul_byte_in_the_apk_database_is_a_damaged_database() {
    let mut data = apk_db("busybox", "1.36.1-r15").into_bytes();
    data.push(0);
    let mut tar = oci::file("etc/os-release", APK_OS_RELEASE);
    tar.extend(oci::file("lib/apk/db/installed", &data));
    let inv = scan_raw(tar);
    assert!(inv.packages.is_empty());
    assert_eq!(inv.damaged.len(), 1);
    assert_eq!(inv.damaged[0].path, "/lib/apk/db/installed");
}

#[test]
fn a_damaged_database_hidden_by_a_later_good_copy_is_not_damage() {
    let mut bad = status("openssl", "1.0").into_bytes();
    bad.push(0);
    let inv = scan_layers(vec![
        vec![
            ocibuild::file("etc/os-release", OS_RELEASE),
            ocibuild::file("var/lib/dpkg/status", bad),
        ],
        vec![ocibuild::file(
            "var/lib/dpkg/status",
            status("openssl", "3.0.11-1"),
        )],
    ]);
    assert!(inv.damaged.is_empty(), "{:?}", inv.damaged);
    assert_eq!(
        names(&inv),
        one("openssl", "3.0.11-1", "/var/lib/dpkg/status")
    );
}
