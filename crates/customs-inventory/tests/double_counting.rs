//! A language package whose files an OS package installed is reported once, as the OS
//! package, and listed as suppressed so nothing silently disappears.

use std::io::Write;

use customs_image::{Image, OpenOptions};
use customs_inventory::{scan_image, ScanOptions};
use sha2::Digest as _;

fn header(name: &str, size: u64) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[..name.len()].copy_from_slice(name.as_bytes());
    b[100..107].copy_from_slice(b"0000644");
    b[108..115].copy_from_slice(b"0000000");
    b[116..123].copy_from_slice(b"0000000");
    b[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    b[136..147].copy_from_slice(b"00000000000");
    b[156] = b'0';
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[148..156].copy_from_slice(b"        ");
    let sum: u64 = b.iter().map(|&x| x as u64).sum();
    b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    b
}

fn tar(files: &[(&str, &str)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (name, data) in files {
        v.extend(header(name, data.len() as u64));
        v.extend_from_slice(data.as_bytes());
        v.resize(v.len().div_ceil(512) * 512, 0);
    }
    v.extend([0u8; 1024]);
    v
}

/// Writes a one-layer OCI layout and returns its directory.
fn layout(layer: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let blobs = dir.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let sha = |b: &[u8]| hex::encode(sha2::Sha256::digest(b));
    let put = |b: &[u8]| {
        std::fs::write(blobs.join(sha(b)), b).unwrap();
        sha(b)
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(layer).unwrap();
    let gz = gz.finish().unwrap();
    let layer_digest = put(&gz);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
        sha(layer)
    );
    let config_digest = put(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{layer_digest}","size":{}}}]}}"#,
        config.len(),
        gz.len()
    );
    let m = put(manifest.as_bytes());
    std::fs::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("index.json"),
        format!(r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{m}","size":{}}}]}}"#, manifest.len()),
    )
    .unwrap();
    dir
}

#[test]
fn python_package_installed_by_dpkg_is_reported_once_as_the_deb() {
    let status = "Package: python3-six\nStatus: install ok installed\nArchitecture: all\nSource: six\nVersion: 1.16.0-4\n\n";
    let list = "/.\n/usr\n/usr/lib/python3/dist-packages/six-1.16.0.dist-info\n/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA\n/usr/lib/python3/dist-packages/six.py\n";
    let metadata = "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n";
    let pip_installed = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n";
    let layer = tar(&[
        (
            "etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        ),
        ("var/lib/dpkg/status", status),
        ("var/lib/dpkg/info/python3-six.list", list),
        (
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
            metadata,
        ),
        (
            "usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
            pip_installed,
        ),
    ]);
    let dir = layout(&layer);
    let image = Image::open_str(
        &format!("oci:{}", dir.path().display()),
        &OpenOptions::default(),
    )
    .unwrap();
    let inv = scan_image(&image, &ScanOptions::default())
        .unwrap()
        .inventory;
    let names: Vec<(&str, &str)> = inv
        .packages
        .iter()
        .map(|p| (p.ecosystem.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [("Debian", "python3-six"), ("PyPI", "requests")],
        "pip-installed requests stays; six is the deb"
    );
    assert_eq!(inv.suppressed.len(), 1);
    assert_eq!(
        (
            inv.suppressed[0].ecosystem.as_str(),
            inv.suppressed[0].name.as_str()
        ),
        ("PyPI", "six")
    );
}
