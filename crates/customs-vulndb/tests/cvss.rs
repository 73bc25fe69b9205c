//! CVSS base scores against published values. v3.1: the examples of FIRST's "CVSS v3.1
//! Examples" document and the specification's worked scores; v4.0: vectors scored by FIRST's
//! v4.0 calculator (the reference implementation of the specification), as cited in
//! several independent implementations' tests.

use customs_vulndb::cvss::{base_score, severity_of, CvssVersion};
use customs_vulndb::Severity;

fn score(v: &str) -> f64 {
    base_score(v).unwrap_or_else(|e| panic!("{v}: {e}")).score
}

#[test]
fn cvss_v31_examples() {
    let cases = [
        // CVE-2014-0160 (Heartbleed)
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
        // CVE-2014-6271 (Shellshock)
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        // CVE-2013-1937 (phpMyAdmin reflected XSS)
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        // CVE-2013-0375 (MySQL stored SQL injection)
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", 9.6),
        ("CVSS:3.1/AV:A/AC:L/PR:L/UI:R/S:U/C:L/I:L/A:N", 4.1),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        // Temporal metrics do not change the base score.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O", 9.8),
    ];
    for (v, expected) in cases {
        assert_eq!(score(v), expected, "{v}");
    }
    assert_eq!(base_score(cases[0].0).unwrap().version, CvssVersion::V3_1);
}

#[test]
fn cvss_v40_examples() {
    let cases = [
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.7),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.6),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:H/SI:H/SA:H", 7.9),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5),
        ("CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", 7.1),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 9.3),
        ("CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:P/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 2.3),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:L/VA:L/SC:H/SI:L/SA:L", 9.3),
        ("CVSS:4.0/AV:L/AC:H/AT:N/PR:L/UI:P/VC:L/VI:H/VA:N/SC:N/SI:H/SA:N", 5.6),
        ("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", 1.0),
        ("CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 7.3),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", 5.3),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:L/SI:L/SA:L", 6.9),
        // Threat and environmental metrics.
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 8.1),
        ("CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 5.2),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P/CR:H/IR:L/AR:M", 8.8),
        (
            "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P/MAC:L/MAT:N/MVC:N/MVI:N/MVA:L",
            5.5,
        ),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/MSI:S/MSA:S", 10.0),
    ];
    for (v, expected) in cases {
        assert_eq!(score(v), expected, "{v}");
    }
}

#[test]
fn every_vector_in_the_shared_data_scores() {
    // All 617 CVSS vectors of the PyPI and crates.io exports parse and score in range.
    let mut n = 0;
    for eco in ["PyPI", "crates.io"] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vulndata/osv/")
            .to_string()
            + eco
            + "/all.zip";
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        for i in 0..zip.len() {
            let entry = zip.by_index(i).unwrap();
            let v: serde_json::Value = serde_json::from_reader(entry).unwrap();
            for s in v["severity"].as_array().into_iter().flatten() {
                let vector = s["score"].as_str().unwrap();
                let scored = base_score(vector).unwrap_or_else(|e| panic!("{vector}: {e}"));
                assert!((0.0..=10.0).contains(&scored.score));
                n += 1;
            }
        }
    }
    assert_eq!(n, 202 + 360 + 57);
}

#[test]
fn bad_vectors_are_errors() {
    for v in [
        "",
        "CVSS:2.0/AV:N",
        "CVSS:3.1/AV:X/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H",
        "CVSS:3.1/AV:N/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N",
    ] {
        assert!(base_score(v).is_err(), "{v}");
    }
}

#[test]
fn cvss_v2_scores() {
    // NVD's v2 scores: CVE-2014-0160 (5.0), CVE-2014-6271 (10.0), CVE-2005-2541 (10.0), and a
    // local one (4.6); the parenthesised form NVD's old feeds wrote is accepted too.
    for (v, expected) in [
        ("AV:N/AC:L/Au:N/C:P/I:N/A:N", 5.0),
        ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0),
        ("(AV:N/AC:L/Au:N/C:C/I:C/A:C)", 10.0),
        ("AV:L/AC:L/Au:N/C:P/I:P/A:P", 4.6),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
    ] {
        let s = base_score(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!((s.version, s.score), (CvssVersion::V2_0, expected), "{v}");
    }
    assert!(base_score("AV:N/AC:L/Au:N/C:P/I:P").is_err());
}

#[test]
fn ratings_follow_the_qualitative_scale() {
    assert_eq!(severity_of(9.0), Severity::Critical);
    assert_eq!(severity_of(8.9), Severity::High);
    assert_eq!(severity_of(4.0), Severity::Medium);
    assert_eq!(severity_of(3.9), Severity::Low);
    assert_eq!(severity_of(0.1), Severity::Low);
    assert_eq!(severity_of(0.0), Severity::Unknown);
}
