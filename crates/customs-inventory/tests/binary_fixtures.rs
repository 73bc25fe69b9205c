//! The binary and archive extractors (Go build info, cargo-auditable, Java archives, .NET PE)
//! against `../shared/fixtures`: every fixture gives exactly the packages `expected.json`
//! lists for it (the truth, checked by hand against `go version -m`, the unpacked jars, the
//! decompressed `.dep-v0` sections and the PE version resource; see the fixtures' README).
//! Truncated copies and arbitrary bytes give errors or nothing, never a panic.

use std::collections::BTreeMap;

use customs_inventory::{dotnet_pe, golang, java, rust_audit, ExtractError, Package};
use proptest::prelude::*;
use serde::Deserialize;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");

type Parser = fn(&str, &[u8]) -> Result<Vec<Package>, ExtractError>;

#[derive(Deserialize)]
struct Expected {
    ecosystem: String,
    name: String,
    version: String,
    purl: Option<String>,
}

fn expected() -> BTreeMap<String, Vec<Expected>> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn read(key: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{key}")).unwrap()
}

/// The extractor responsible for a fixture key, if it is one of this file's.
fn parser_for(key: &str) -> Option<Parser> {
    if key.starts_with("go-binaries/") {
        Some(golang::parse)
    } else if key.starts_with("rust-auditable/") {
        Some(rust_audit::parse)
    } else if key.starts_with("java/") {
        Some(java::parse)
    } else if key == "dotnet/HelloWorldApp.exe" {
        Some(dotnet_pe::parse)
    } else {
        None
    }
}

/// Asserts the multiset of (ecosystem, name, version) and every purl the expectation gives.
fn assert_matches(key: &str, got: &[Package], want: &[Expected]) {
    let mut got_triples: Vec<_> = got
        .iter()
        .map(|p| (p.ecosystem.as_str(), p.name.as_str(), p.version.as_str()))
        .collect();
    let mut want_triples: Vec<_> = want
        .iter()
        .map(|e| (e.ecosystem.as_str(), e.name.as_str(), e.version.as_str()))
        .collect();
    got_triples.sort();
    want_triples.sort();
    assert_eq!(got_triples, want_triples, "{key}");
    for e in want {
        if let Some(purl) = &e.purl {
            let p = got
                .iter()
                .find(|p| p.name == e.name && p.version == e.version)
                .unwrap();
            assert_eq!(&p.purl_string(), purl, "{key}: purl of {}", e.name);
        }
    }
}

#[test]
fn every_binary_and_archive_fixture_gives_exactly_the_expected_packages() {
    let mut checked = 0;
    for (key, want) in expected() {
        let Some(parse) = parser_for(&key) else {
            continue;
        };
        let data = read(&key);
        let got = match parse(&key, &data) {
            Ok(got) => got,
            // The README allows an error where nothing is expected (nested_at_100.jar).
            Err(e) if want.is_empty() => {
                eprintln!("{key}: {e}");
                Vec::new()
            }
            Err(e) => panic!("{key}: {e}"),
        };
        assert_matches(&key, &got, &want);
        checked += 1;
    }
    // 2 Go, 3 cargo-auditable, 4 Java, 1 PE.
    assert_eq!(checked, 10);
}

#[test]
fn go_binaries_report_replacement_not_replaced_module_and_record_build_settings() {
    for (key, arch) in [
        (
            "go-binaries/binary_with_module_replacement-linux-amd64",
            "amd64",
        ),
        (
            "go-binaries/binary_with_module_replacement-linux-arm64",
            "arm64",
        ),
    ] {
        let info = golang::read_build_info(&read(key)).unwrap().unwrap();
        assert_eq!(info.go_version, "go1.22.0");
        assert_eq!(info.setting("GOARCH"), Some(arch));
        assert_eq!(info.setting("GOOS"), Some("linux"));
        let dep = &info.deps[0];
        assert_eq!(dep.path, "golang.org/x/xerrors");
        assert_eq!(
            dep.replace.as_ref().unwrap().path,
            "github.com/golang/xerrors"
        );
        let pkgs = golang::parse(key, &read(key)).unwrap();
        assert!(pkgs
            .iter()
            .all(|p| p.found_by == "go-binary" && p.locations == [format!("/{key}")]));
        assert!(!pkgs.iter().any(|p| p.name == "golang.org/x/xerrors"));
    }
}

#[test]
fn nesting_beyond_the_depth_limit_is_a_limit_error() {
    let err = java::parse("java/nested_at_100.jar", &read("java/nested_at_100.jar")).unwrap_err();
    assert!(matches!(err, ExtractError::Limit { .. }), "{err}");
    // The same file read with a deeper limit finds the innermost pom.properties, proving
    // that the limit (not a parse failure) is what hides it.
    let limits = java::Limits {
        max_depth: 128,
        ..java::Limits::default()
    };
    let pkgs =
        java::parse_with_limits("nested_at_100.jar", &read("java/nested_at_100.jar"), limits)
            .unwrap();
    assert_eq!(pkgs.len(), 1, "{pkgs:?}");
    // nested_at_10 holds its pom.properties 9 levels below the top: a limit of 8 hides it.
    let limits = java::Limits {
        max_depth: 8,
        ..java::Limits::default()
    };
    assert!(java::parse_with_limits("n.jar", &read("java/nested_at_10.jar"), limits).is_err());
    let limits = java::Limits {
        max_depth: 9,
        ..java::Limits::default()
    };
    assert_eq!(
        java::parse_with_limits("n.jar", &read("java/nested_at_10.jar"), limits)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn fixtures_of_other_formats_give_nothing_to_each_binary_parser() {
    // Each parser is pointed at files of the others' formats: none claims a package.
    let parsers: [(&str, Parser); 4] = [
        ("go", golang::parse),
        ("rust", rust_audit::parse),
        ("java", java::parse),
        ("dotnet", dotnet_pe::parse),
    ];
    let samples = [
        "go-binaries/binary_with_module_replacement-linux-amd64",
        "rust-auditable/uses_serde_json",
        "java/guava-31.1-jre.jar",
        "dotnet/HelloWorldApp.exe",
    ];
    for (i, (name, parse)) in parsers.iter().enumerate() {
        for (j, key) in samples.iter().enumerate() {
            if i == j {
                continue;
            }
            let got = parse(key, &read(key)).unwrap_or_default();
            assert!(got.is_empty(), "{name} on {key}: {got:?}");
        }
    }
}

#[test]
fn truncated_copies_give_errors_or_nothing_never_a_panic() {
    for (key, _) in expected() {
        let Some(parse) = parser_for(&key) else {
            continue;
        };
        let data = read(&key);
        let len = data.len();
        let mut cuts: Vec<usize> = vec![
            0,
            1,
            4,
            16,
            64,
            100,
            512,
            4096,
            len / 3,
            len / 2,
            len - len / 10,
        ];
        cuts.extend(len.checked_sub(1));
        for cut in cuts.into_iter().filter(|&c| c < len) {
            // Whatever it returns, it returns.
            if let Ok(pkgs) = parse(&key, &data[..cut]) {
                assert!(pkgs.len() <= 11, "{key}[..{cut}]");
            }
        }
    }
}

#[test]
fn a_truncated_go_binary_is_an_error() {
    let key = "go-binaries/binary_with_module_replacement-linux-amd64";
    let data = read(key);
    assert!(golang::parse(key, &data[..data.len() / 2]).is_err());
}

/// Where flipped bytes reach the parser: the Go build info header and what follows it, the
/// ELF section headers (at the end) of the Rust binary, all of the small jar and PE.
fn hot_window(key: &str, data: &[u8]) -> std::ops::Range<usize> {
    if key.starts_with("go-binaries/") {
        let magic = b"\xff Go buildinf:";
        let at = data.windows(magic.len()).position(|w| w == magic).unwrap();
        at..at + 600
    } else if key.starts_with("rust-auditable/") {
        data.len() - 4096..data.len()
    } else {
        0..data.len()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = golang::parse("x", &bytes);
        let _ = rust_audit::parse("x", &bytes);
        let _ = java::parse("x.jar", &bytes);
        let _ = dotnet_pe::parse("x.exe", &bytes);
    }

    #[test]
    fn parsers_never_panic_on_fixture_with_bytes_flipped(
        which in 0usize..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..32),
    ) {
        let (key, parse): (&str, Parser) = [
            ("go-binaries/binary_with_module_replacement-linux-arm64", golang::parse as Parser),
            ("rust-auditable/no_deps", rust_audit::parse),
            ("java/nested_at_10.jar", java::parse),
            ("dotnet/HelloWorldApp.exe", dotnet_pe::parse),
        ][which];
        let mut data = read(key);
        let window = hot_window(key, &data);
        for (at, byte) in flips {
            let i = window.start + at.index(window.len());
            data[i] = byte;
        }
        let _ = parse(key, &data);
    }
}

#[test]
fn go_binary_stripped_of_section_headers_is_read_through_its_writable_segment() {
    let key = "go-binaries/binary_with_module_replacement-linux-amd64";
    let mut data = read(key);
    // ELF64 header: e_shoff at 0x28 (8 bytes), e_shnum at 0x3c, e_shstrndx at 0x3e.
    data[0x28..0x30].fill(0);
    data[0x3c..0x40].fill(0);
    let got = golang::parse(key, &data).unwrap();
    let want = &expected()[key];
    assert_matches(key, &got, want);
}

/// Rewrites the fixture's Go 1.18+ header into the pre-1.18 pointer layout in place: the two
/// header words point at Go string headers `{data, len}` written over the start of
/// `.noptrdata`, whose data pointers are the virtual addresses of the strings the inline
/// layout already holds. Reading it back exercises the mapping of virtual addresses to file
/// offsets through the program headers.
#[test]
fn pointer_layout_in_a_real_elf_is_read_through_its_program_headers() {
    use object::{Object, ObjectSection};
    let key = "go-binaries/binary_with_module_replacement-linux-amd64";
    let mut data = read(key);
    let (info_addr, info_off, spare_addr, spare_off) = {
        let file = object::File::parse(&*data).unwrap();
        let info = file.section_by_name(".go.buildinfo").unwrap();
        let spare = file.section_by_name(".noptrdata").unwrap();
        (
            info.address(),
            info.file_range().unwrap().0,
            spare.address(),
            spare.file_range().unwrap().0,
        )
    };
    let (info_off, spare_off) = (info_off as usize, spare_off as usize);
    assert_eq!(&data[info_off..info_off + 14], b"\xff Go buildinf:");
    // Inline layout: one-byte varint version length, the version, two-byte varint modinfo
    // length, the modinfo.
    let version_len = u64::from(data[info_off + 32]);
    assert!(version_len < 0x80);
    let at = info_off + 33 + version_len as usize;
    assert!(data[at] & 0x80 != 0 && data[at + 1] & 0x80 == 0);
    let modinfo_len = u64::from(data[at] & 0x7f) | u64::from(data[at + 1]) << 7;
    let modinfo_addr = info_addr + (at + 2 - info_off) as u64;
    let words = [info_addr + 33, version_len, modinfo_addr, modinfo_len];
    for (i, word) in words.iter().enumerate() {
        data[spare_off + 8 * i..spare_off + 8 * i + 8].copy_from_slice(&word.to_le_bytes());
    }
    data[info_off + 15] = 0; // little endian, pointer layout
    data[info_off + 16..info_off + 24].copy_from_slice(&spare_addr.to_le_bytes());
    data[info_off + 24..info_off + 32].copy_from_slice(&(spare_addr + 16).to_le_bytes());

    let info = golang::read_build_info(&data).unwrap().unwrap();
    assert_eq!(info.go_version, "go1.22.0");
    assert_matches(key, &golang::parse(key, &data).unwrap(), &expected()[key]);

    // A string header pointing past the mapped segments is an error.
    data[spare_off..spare_off + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(golang::parse(key, &data).is_err());
}

#[test]
fn pe_without_clr_header_or_dotnet_host_is_not_a_nuget_package() {
    // The fixture is a .NET app host: no CLR header, but it loads hostfxr. With every
    // mention of hostfxr blanked it reads as a native Windows binary, whose version resource
    // names no NuGet package.
    let key = "dotnet/HelloWorldApp.exe";
    let mut data = read(key);
    assert_eq!(dotnet_pe::parse(key, &data).unwrap().len(), 1);
    let marker = b"hostfxr";
    let mut blanked = 0;
    let mut at = 0;
    while let Some(found) = data[at..].windows(marker.len()).position(|w| w == marker) {
        data[at + found..at + found + marker.len()].fill(b'x');
        at += found + marker.len();
        blanked += 1;
    }
    assert!(blanked > 0);
    assert!(dotnet_pe::parse(key, &data).unwrap().is_empty());
}
