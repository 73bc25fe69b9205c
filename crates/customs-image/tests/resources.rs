//! Bounded time and memory on hostile inputs (issue 12): deep paths, xattr bombs, layer
//! counts, compressed archives that would be re-inflated per layer, outer decompression bombs,
//! duplicated members, and archives whose docker and OCI indexes name different images.
//! Every case is built here, byte by byte where no tar library would write it.

use std::io::Write;
use std::path::Path;

use customs_image::archive::Container;
use customs_image::layer::LayerLimits;
use customs_image::tar::{TarError, TarReader, MAX_PATH_BYTES};
use customs_image::{walk_layer, Image, OpenOptions};
use customs_testkit::oci::{end, file, gzip, header, sha256_hex, tar, write_layout};

/// A PAX extended header ('x') block carrying `records` (key, value), padded.
fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut data = Vec::new();
    for (k, v) in records {
        // "LEN key=value\n", LEN counting itself.
        let body = k.len() + v.len() + 3;
        let mut len = body + 1;
        while len != body + len.to_string().len() {
            len = body + len.to_string().len();
        }
        data.extend_from_slice(format!("{len} {k}=").as_bytes());
        data.extend_from_slice(v);
        data.push(b'\n');
    }
    let mut out = header("PaxHeaders/x", b'x', data.len() as u64, "");
    out.extend_from_slice(&data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// A GNU long-name ('L') block followed by its record.
fn long_name(name: &str) -> Vec<u8> {
    let mut out = header("././@LongLink", b'L', name.len() as u64 + 1, "");
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn walk(bytes: &[u8]) -> Result<usize, String> {
    walk_layer(bytes, |_, _| Ok(()))
        .map(|e| e.len())
        .map_err(|e| e.to_string())
}

#[test]
fn megabyte_deep_paths_are_refused_not_walked() {
    // A PAX path just under the 1 MiB record cap: a million components.
    let deep = format!("{}f", "a/".repeat((1 << 19) - 64));
    let mut t = pax(&[("path", deep.as_bytes())]);
    t.extend(file("placeholder", b"x"));
    let err = walk(&end(t)).unwrap_err();
    assert!(
        err.contains("PATH_MAX") || err.contains("component"),
        "{err}"
    );

    // The same through a GNU long name, and a path of many short components under PATH_MAX.
    let mut t = long_name(&format!("{}f", "b/".repeat(200_000)));
    t.extend(file("placeholder", b"x"));
    let err = walk(&end(t)).unwrap_err();
    assert!(
        err.contains("PATH_MAX") || err.contains("component"),
        "{err}"
    );
    let mut t = pax(&[("path", format!("{}f", "c/".repeat(1000)).as_bytes())]);
    t.extend(file("placeholder", b"x"));
    let err = walk(&end(t)).unwrap_err();
    assert!(err.contains("component"), "{err}");

    // A path at the limit is still read.
    let ok = format!("{}/f", "d".repeat(MAX_PATH_BYTES - 3));
    let mut t = pax(&[("path", ok.as_bytes())]);
    t.extend(file("placeholder", b"x"));
    assert_eq!(walk(&end(t)), Ok(1));
}

#[test]
fn pax_xattr_bombs_are_refused() {
    // One entry with 200 KiB of extended attributes.
    let value = vec![b'v'; 2048];
    let keys: Vec<String> = (0..100)
        .map(|i| format!("SCHILY.xattr.user.k{i}"))
        .collect();
    let records: Vec<(&str, &[u8])> = keys.iter().map(|k| (k.as_str(), &value[..])).collect();
    let mut t = pax(&records);
    t.extend(file("f", b"x"));
    let err = walk(&end(t)).unwrap_err();
    assert!(err.contains("extended attributes"), "{err}");

    // Many entries each under the per-entry cap, adding up past the per-archive cap.
    let value = vec![b'w'; 100 << 10];
    let mut t = Vec::new();
    for i in 0..200 {
        t.extend(pax(&[("SCHILY.xattr.user.big", &value[..])]));
        t.extend(file(&format!("f{i}"), b"x"));
    }
    let t = end(t);
    let mut r = TarReader::new(&t[..]);
    let err = loop {
        match r.next_entry() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("an archive of 20 MB of xattrs was read to the end"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, TarError::Limit { .. }), "{err}");
}

/// A docker archive (`docker save` layout) of `layers` layers, each one file of `size`
/// bytes, as a plain tar.
fn docker_archive(layers: usize, size: usize) -> Vec<u8> {
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut diff_ids = Vec::new();
    let mut names = Vec::new();
    for i in 0..layers {
        let mut data = vec![0u8; size];
        data[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let layer = tar(&[(&format!("layer{i}/data"), &data)]);
        diff_ids.push(format!("\"sha256:{}\"", sha256_hex(&layer)));
        let name = format!("{i}/layer.tar");
        names.push(format!("\"{name}\""));
        members.push((name, layer));
    }
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        diff_ids.join(",")
    );
    let config_name = format!("{}.json", sha256_hex(config.as_bytes()));
    let manifest = format!(
        r#"[{{"Config":"{config_name}","RepoTags":["many:layers"],"Layers":[{}]}}]"#,
        names.join(",")
    );
    let mut out = file("manifest.json", manifest.as_bytes());
    out.extend(file(&config_name, config.as_bytes()));
    for (name, data) in &members {
        out.extend(file(name, data));
    }
    end(out)
}

#[test]
fn a_gzip_docker_archive_of_127_layers_is_inflated_at_most_twice() {
    // Layers above the 1 MiB kept in memory, so each one is read from the compressed stream.
    let plain = docker_archive(127, (1 << 20) + 4096);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.tar.gz");
    std::fs::write(&path, gzip(&plain)).unwrap();

    let c = Container::open(&path).unwrap();
    for i in 0..127 {
        let mut r = c.open_member(&format!("{i}/layer.tar")).unwrap();
        let n = std::io::copy(&mut r, &mut std::io::sink()).unwrap();
        assert!(n > 1 << 20);
    }
    let inflated = c.inflated_bytes();
    let whole = plain.len() as u64;
    // Re-inflating from the start for every layer would cost about 64 passes.
    assert!(
        inflated <= 2 * whole,
        "inflated {inflated} bytes for a {whole}-byte archive ({:.1} passes)",
        inflated as f64 / whole as f64
    );

    // And the image opens and reads through the same path, every layer verified.
    let image = Image::open_str(
        &format!("docker-archive:{}", path.display()),
        &OpenOptions::default(),
    )
    .unwrap();
    assert_eq!(image.layers.len(), 127);
    let (fs, _) = customs_image::summary::filesystem(&image, None).unwrap();
    assert!(fs.iter().any(|(p, _)| p == "layer126/data"));
}

#[test]
fn an_outer_zstd_bomb_stops_at_the_expansion_limit() {
    // A tar claiming one 512 MiB file of zeros, zstd-compressed to a few kilobytes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.tar.zst");
    let mut enc =
        zstd::stream::write::Encoder::new(std::fs::File::create(&path).unwrap(), 19).unwrap();
    enc.write_all(&header("manifest.json", b'0', 512 << 20, ""))
        .unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..512 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap();
    let compressed = std::fs::metadata(&path).unwrap().len();
    assert!(compressed < 1 << 20, "{compressed}");

    let limits = LayerLimits {
        max_uncompressed: 64 << 30,
        max_ratio: 100,
        ratio_floor: 16 << 20,
    };
    let err = Container::open_with_limits(&path, limits).unwrap_err();
    assert!(
        err.to_string().contains("expan") || err.to_string().contains("ratio"),
        "{err}"
    );

    // The same limits reach the archive through Image::open.
    let opts = OpenOptions {
        limits,
        ..OpenOptions::default()
    };
    let err = Image::open_str(&format!("docker-archive:{}", path.display()), &opts).unwrap_err();
    assert!(
        err.to_string().contains("expan") || err.to_string().contains("ratio"),
        "{err}"
    );
}

#[test]
fn thousands_of_layers_are_refused_before_any_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let layer = tar(&[("f", b"x")]);
    write_layout(dir.path(), &layer);
    // Rewrite the manifest to list the one layer 5000 times.
    let blobs = dir.path().join("blobs/sha256");
    let gz = gzip(&layer);
    let gz_hex = sha256_hex(&gz);
    let diff = format!("\"sha256:{}\"", sha256_hex(&layer));
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        vec![diff; 5000].join(",")
    );
    let config_hex = sha256_hex(config.as_bytes());
    std::fs::write(blobs.join(&config_hex), &config).unwrap();
    let desc = format!(
        r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{gz_hex}","size":{}}}"#,
        gz.len()
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config_hex}","size":{}}},"layers":[{}]}}"#,
        config.len(),
        vec![desc; 5000].join(",")
    );
    let m = sha256_hex(manifest.as_bytes());
    std::fs::write(blobs.join(&m), &manifest).unwrap();
    customs_testkit::oci::set_index(dir.path(), &m, manifest.len());
    let err = Image::open_str(
        &format!("oci:{}", dir.path().display()),
        &OpenOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("layers"), "{err}");
}

#[test]
fn an_archive_member_written_twice_is_refused() {
    let mut t = Vec::new();
    t.extend(file("manifest.json", b"[]"));
    t.extend(file("manifest.json", b"[{}]"));
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("twice.tar");
    std::fs::write(&plain, end(t.clone())).unwrap();
    let err = Container::open(&plain).unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    let gz = dir.path().join("twice.tar.gz");
    std::fs::write(&gz, gzip(&end(t))).unwrap();
    let err = Container::open(&gz).unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

/// Tars a directory (sorted, regular files only) into `out`.
fn tar_dir(dir: &Path, out: &Path) {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                paths.push(p);
            }
        }
    }
    paths.sort();
    let mut t = Vec::new();
    for p in paths {
        let name = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        t.extend(file(&name, &std::fs::read(&p).unwrap()));
    }
    std::fs::write(out, end(t)).unwrap();
}

/// The config blob name and layer blob name `write_layout` wrote for `layer`.
fn docker_entry(dir: &Path, layer: &[u8]) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let m = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("blobs/sha256").join(&m[7..])).unwrap())
            .unwrap();
    let config = manifest["config"]["digest"].as_str().unwrap();
    let layer_blob = sha256_hex(&gzip(layer));
    format!(
        r#"{{"Config":"blobs/sha256/{}","RepoTags":["app:1"],"Layers":["blobs/sha256/{layer_blob}"]}}"#,
        &config[7..]
    )
}

#[test]
fn manifest_json_and_index_json_must_name_the_same_image() {
    let work = tempfile::tempdir().unwrap();
    // Docker 25+ `docker save` writes both indexes over one set of blobs; they agree.
    let same = work.path().join("same");
    let layer_a = tar(&[("etc/a", b"image a")]);
    write_layout(&same, &layer_a);
    let entry_a = docker_entry(&same, &layer_a);
    std::fs::write(same.join("manifest.json"), format!("[{entry_a}]")).unwrap();
    let same_tar = work.path().join("same.tar");
    tar_dir(&same, &same_tar);
    for t in ["docker-archive", "oci-archive"] {
        let image = Image::open_str(
            &format!("{t}:{}", same_tar.display()),
            &OpenOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(image.layers.len(), 1);
    }

    // manifest.json names image A, index.json image B: a docker load and a containerd
    // import would run different images, so neither is chosen silently.
    let split = work.path().join("split");
    write_layout(&split, &layer_a);
    let entry_a = docker_entry(&split, &layer_a);
    write_layout(&split, &tar(&[("etc/b", b"image b")]));
    std::fs::write(split.join("manifest.json"), format!("[{entry_a}]")).unwrap();
    let split_tar = work.path().join("split.tar");
    tar_dir(&split, &split_tar);
    for t in ["docker-archive", "oci-archive"] {
        let err = Image::open_str(
            &format!("{t}:{}", split_tar.display()),
            &OpenOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("manifest.json") && err.contains("index.json"),
            "{t}: {err}"
        );
    }
    // The directory form is an OCI layout with a stray manifest.json: the same rule.
    let err = Image::open_str(&format!("oci:{}", split.display()), &OpenOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("manifest.json"), "{err}");
}

#[test]
fn a_layer_stream_of_nul_blocks_after_one_zero_block_is_an_error() {
    // Garbage after a single zero block: Go fails the archive, so customs must not stop
    // quietly there and miss what follows.
    let mut t = file("a", b"1");
    t.extend([0u8; 512]);
    t.extend(file("lib/apk/db/installed", b"P:busybox\nV:1.30.1-r1\n\n"));
    let err = walk(&end(t)).unwrap_err();
    assert!(err.contains("zero block"), "{err}");
}
