//! Image sources end to end: every transport gives the same image, digests are checked on
//! every blob, and hostile layers give clear errors or safe results, never panics.

use customs_testkit::oci::{end, file, gzip, header, set_index, sha256_hex, Layout};
use customs_testkit::registry as support;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use customs_image::summary::{filesystem, stream_layer};
use customs_image::{Digest, Image, OpenOptions, Target};
use customs_registry::copy::copy_image;
use customs_registry::RegistryOptions;
use support::{shared_image, skopeo, Mode, Registry};

/// Opens any target, registry images through customs-registry's client.
fn open(target: &str) -> Image {
    let opts = OpenOptions {
        remote: Some(customs_registry::remote(RegistryOptions::default())),
        ..OpenOptions::default()
    };
    Image::open_str(target, &opts).unwrap_or_else(|e| panic!("{target}: {e}"))
}

/// Config digest, diff-ids and the merged file list: what "the same image" means here.
fn fingerprint(image: &Image) -> (Digest, Vec<Digest>, BTreeSet<String>) {
    let (fs, _) = filesystem(image, None).unwrap();
    let files = fs
        .iter()
        .map(|(p, n)| format!("{p} {:?} {}", n.kind, n.size))
        .collect();
    (
        image.config_digest.clone(),
        image.layers.iter().map(|l| l.diff_id.clone()).collect(),
        files,
    )
}

#[test]
fn every_transport_agrees_on_the_same_image() {
    let archive = shared_image("app-multi.oci.tar");
    let dir = tempfile::tempdir().unwrap();
    // docker-archive and oci layout copies made by skopeo, the reference implementation.
    let docker = dir.path().join("app.docker.tar");
    skopeo(&[
        "copy".into(),
        "--quiet".into(),
        format!("oci-archive:{}", archive.display()),
        format!("docker-archive:{}:app:latest", docker.display()),
    ]);
    let layout = dir.path().join("layout");
    skopeo(&[
        "copy".into(),
        "--quiet".into(),
        "--preserve-digests".into(),
        format!("oci-archive:{}", archive.display()),
        format!("oci:{}:latest", layout.display()),
    ]);
    let registry = Registry::start(Mode::Anonymous);
    registry.push_oci_archive(&archive, "app:latest");

    let reference = open(&format!("oci-archive:{}", archive.display()));
    let want = fingerprint(&reference);
    assert_eq!(want.2.len(), reference_file_count(&reference));
    for target in [
        format!("docker-archive:{}", docker.display()),
        format!("oci:{}:latest", layout.display()),
        format!("{}/app:latest", registry.host()),
    ] {
        let image = open(&target);
        assert_eq!(
            fingerprint(&image),
            want,
            "{target} differs from the oci-archive"
        );
    }
    // The registry copy keeps the manifest digest too (skopeo --preserve-digests).
    let from_registry = open(&format!("{}/app:latest", registry.host()));
    assert_eq!(from_registry.manifest_digest, reference.manifest_digest);
}

fn reference_file_count(image: &Image) -> usize {
    filesystem(image, None).unwrap().0.len()
}

#[test]
fn shared_images_have_the_digests_their_readme_records() {
    let cases = [
        (
            "alpine-3.10.tar",
            "sha256:808fcd364a3abbe46fcb6f56ceb1a21940c8897a66591fbb06fec7546d73ac2e",
            "sha256:af341ccd2df8b0e2d67cf8dd32e087bfda4e5756ebd1c76bbf3efa0dc246590e",
        ),
        (
            "alpine-3.11.tar.gz",
            "sha256:a02db336778f0b10fa23755222339de0ce16fcc53d8bfa75e1aad6de5053b339",
            "sha256:a187dde48cd289ac374ad8539930628314bc581a481cdb41409c9289419ddb72",
        ),
        (
            "app-multi.oci.tar",
            "sha256:658ed7bc2ab5eeea9b26864f73fe9b9c36491bc47dd180cd5c6dea263f510a44",
            "sha256:db52521df42011d2886456e8cb0b11cdc4b8640165022ef42bc7b4e2619e6d9e",
        ),
        (
            "debian-bookworm-minbase.oci.tar",
            "sha256:6b2989d0ddd9f26e500d5f47db51bf4a19cdb9a0f8da5f04bdb7cc5284a19ac5",
            "sha256:fab964148804ba2c69ec819bd53f8ec2975daceac8d97cdc0a8aa86777fa2200",
        ),
    ];
    for (file, manifest, config) in cases {
        let image = open(shared_image(file).to_str().unwrap());
        assert_eq!(image.manifest_digest.to_string(), manifest, "{file}");
        assert_eq!(image.config_digest.to_string(), config, "{file}");
        assert_eq!(image.platform.to_string(), "linux/amd64");
    }
}

#[test]
fn debian_view_resolves_symlinks_and_hardlinks() {
    let image = open(
        shared_image("debian-bookworm-minbase.oci.tar")
            .to_str()
            .unwrap(),
    );
    let (fs, layers) = filesystem(&image, None).unwrap();
    // The README counts 6,675 tar entries; the walker drops the root `./` entry itself.
    assert_eq!(layers[0].entries.len(), 6674);
    assert_eq!(
        fs.resolve("etc/os-release").as_deref(),
        Some("usr/lib/os-release")
    );
    assert_eq!(
        fs.resolve("bin/bash").as_deref(),
        Some("usr/bin/bash"),
        "merged /usr"
    );
    assert_eq!(
        fs.resolve("etc/localtime").as_deref(),
        Some("usr/share/zoneinfo/Etc/UTC")
    );
    assert_eq!(fs.data_path("usr/bin/perl5.36.0"), Some("usr/bin/perl"));
}

#[test]
fn app_multi_truncated_layers_read_and_whiteout_records_both_layers() {
    let image = open(shared_image("app-multi.oci.tar").to_str().unwrap());
    let (fs, _) = filesystem(&image, None).unwrap();
    assert!(fs.get("srv/app/.env").is_none());
    let d = fs
        .deleted()
        .iter()
        .find(|d| d.path == "srv/app/.env")
        .unwrap();
    assert_eq!((d.layer, d.deleted_in), (2, 4));
    assert!(
        fs.get("usr/local/bin/uses_serde_json").is_some(),
        "last entry of a truncated layer"
    );
}

// ---- Hand-built OCI layouts for hostile input (customs_testkit::oci) --------------------

#[test]
fn dot_dot_paths_stay_inside_the_image_root() {
    let tar = end([
        file("../../etc/evil", b"x"),
        file("/abs/file", b"y"),
        file("a/../../b", b"z"),
    ]
    .concat());
    let l = Layout::new(&tar);
    let (fs, _) = filesystem(&open(&l.target()), None).unwrap();
    let paths: Vec<&str> = fs.iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["abs", "abs/file", "b", "etc", "etc/evil"]);
}

#[test]
fn absolute_symlinks_and_loops_resolve_inside_the_root_or_not_at_all() {
    let tar = end([
        file("etc/real", b"data"),
        header("etc/abs", b'2', 0, "/etc/real"),
        header("etc/up", b'2', 0, "../../../../../etc/real"),
        header("loop/a", b'2', 0, "b"),
        header("loop/b", b'2', 0, "a"),
        header("host", b'2', 0, "/proc/self/root/etc/shadow"),
    ]
    .concat());
    let l = Layout::new(&tar);
    let (fs, _) = filesystem(&open(&l.target()), None).unwrap();
    assert_eq!(fs.resolve("etc/abs").as_deref(), Some("etc/real"));
    assert_eq!(fs.resolve("etc/up").as_deref(), Some("etc/real"));
    assert_eq!(fs.resolve("loop/a"), None);
    assert_eq!(
        fs.resolve("host"),
        None,
        "resolves inside the image, where nothing is there"
    );
}

#[test]
fn hardlink_to_missing_target_is_kept_dangling() {
    let tar = end([header("lonely", b'1', 0, "nowhere")].concat());
    let l = Layout::new(&tar);
    let (fs, _) = filesystem(&open(&l.target()), None).unwrap();
    assert!(fs.get("lonely").is_some());
    assert_eq!(fs.data_path("lonely"), None);
}

#[test]
fn pax_header_with_huge_size_is_refused() {
    let mut tar = header("pax", b'x', 1 << 32, "");
    tar.extend([0u8; 512]);
    let l = Layout::new(&tar);
    let err = filesystem(&open(&l.target()), None).unwrap_err();
    assert!(err.to_string().contains("exceeds"), "{err}");
}

#[test]
fn a_changed_layer_byte_is_a_digest_mismatch() {
    let l = Layout::new(&end(file("f", b"hello")));
    let p = l.layer.clone();
    let mut bytes = std::fs::read(&p).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0xff; // inside the gzip trailer/data
    std::fs::write(&p, &bytes).unwrap();
    let err = filesystem(&open(&l.target()), None).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("digest mismatch") || msg.contains("corrupt") || msg.contains("invalid"),
        "{msg}"
    );
}

#[test]
fn a_truncated_blob_is_an_error() {
    let l = Layout::new(&end(file("f", &[7u8; 4096])));
    let p = l.layer.clone();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    assert!(filesystem(&open(&l.target()), None).is_err());
}

#[test]
fn a_diff_id_that_does_not_match_the_layer_is_refused() {
    // Compressed digest fine, uncompressed content differs from the config's diff-id.
    let l = Layout::new(&end(file("f", b"one")));
    let image = open(&l.target());
    let layer_path = l.layer.clone();
    let other = gzip(&end(file("f", b"two")));
    // Replace the blob and fix up the manifest so only the diff-id is wrong.
    std::fs::remove_file(&layer_path).unwrap();
    let dir = l.dir.path().join("blobs/sha256");
    std::fs::write(dir.join(sha256_hex(&other)), &other).unwrap();
    let manifest = String::from_utf8(image.manifest_bytes.clone())
        .unwrap()
        .replace(image.layers[0].descriptor.digest.hex(), &sha256_hex(&other))
        .replace(
            &format!("\"size\":{}}}]", image.layers[0].descriptor.size),
            &format!("\"size\":{}}}]", other.len()),
        );
    std::fs::write(dir.join(sha256_hex(manifest.as_bytes())), &manifest).unwrap();
    set_index(
        l.dir.path(),
        &sha256_hex(manifest.as_bytes()),
        manifest.len(),
    );
    let err = filesystem(&open(&l.target()), None).unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
}

#[test]
fn a_gzip_bomb_layer_is_stopped() {
    // 64 MiB of zeros inside one file, with a ratio limit low enough to trip.
    let mut tar = header("zeros", b'0', 64 << 20, "");
    tar.extend(std::iter::repeat_n(0u8, 64 << 20));
    let tar = end(tar);
    let l = Layout::new(&tar);
    let mut opts = OpenOptions::default();
    opts.limits.max_ratio = 50;
    opts.limits.ratio_floor = 1 << 20;
    let image = Image::open_str(&l.target(), &opts).unwrap();
    let err = stream_layer(&image, 0, |_, r| {
        std::io::copy(r, &mut std::io::sink())?;
        Ok(())
    })
    .unwrap_err();
    assert!(err.to_string().contains("decompression bomb"), "{err}");
}

#[test]
fn copy_to_a_layout_round_trips_through_umoci() {
    let src = open(shared_image("app-multi.oci.tar").to_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let dest = Target::parse(&format!("oci:{}:v1", dir.path().join("out").display())).unwrap();
    let copied = copy_image(&src, &dest, &RegistryOptions::default()).unwrap();
    assert_eq!(copied.manifest_digest, src.manifest_digest);
    let unpack = dir.path().join("bundle");
    let out = std::process::Command::new("umoci")
        .args([
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:v1", dir.path().join("out").display()),
        ])
        .arg(&unpack)
        .output()
        .expect("umoci is installed (scripts/install-deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut s = String::new();
    std::fs::File::open(unpack.join("rootfs/etc/passwd"))
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert!(s.contains("app:x:1000:1000"));
    assert!(!Path::new(&unpack.join("rootfs/srv/app/.env")).exists());
}

#[test]
fn customs_push_is_readable_by_skopeo_and_umoci() {
    let registry = Registry::start(Mode::Anonymous);
    let src = open(shared_image("alpine-3.10.tar").to_str().unwrap());
    let dest = Target::parse(&format!("{}/pushed/alpine:3.10", registry.host())).unwrap();
    let copied = copy_image(&src, &dest, &registry.options()).unwrap();
    let inspect = skopeo(&[
        "inspect".into(),
        "--tls-verify=false".into(),
        format!("docker://{}/pushed/alpine:3.10", registry.host()),
    ]);
    assert!(
        inspect.contains(&copied.manifest_digest.to_string()),
        "{inspect}"
    );
    let dir = tempfile::tempdir().unwrap();
    skopeo(&[
        "copy".into(),
        "--quiet".into(),
        "--src-tls-verify=false".into(),
        format!("docker://{}/pushed/alpine:3.10", registry.host()),
        format!("oci:{}:x", dir.path().join("l").display()),
    ]);
    let out = std::process::Command::new("umoci")
        .args([
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:x", dir.path().join("l").display()),
        ])
        .arg(dir.path().join("b"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("b/rootfs/lib/apk/db/installed").exists());
}
