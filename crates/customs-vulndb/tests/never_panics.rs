//! Parsers of untrusted bytes return errors, never panic: OSV documents, secdb documents,
//! CVSS vectors and database files.

use customs_vulndb::{cvss, osv, secdb, Database};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn osv_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = osv::parse_document(&bytes, "fuzz", &mut Vec::new());
    }

    #[test]
    fn secdb_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = secdb::parse_document(&bytes, "fuzz", None, &mut Vec::new());
    }

    #[test]
    fn cvss_never_panics(s in "(CVSS:(3\\.0|3\\.1|4\\.0)/)?([A-Z]{1,3}:[A-Za-z]{0,2}/?){0,14}") {
        if let Ok(score) = cvss::base_score(&s) {
            prop_assert!((0.0..=10.0).contains(&score.score));
        }
    }

    #[test]
    fn database_open_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024), valid_header in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let mut bytes = bytes;
        if valid_header && bytes.len() >= 16 {
            bytes[..8].copy_from_slice(customs_vulndb::db::MAGIC);
            bytes[8..12].copy_from_slice(&customs_vulndb::SCHEMA_VERSION.to_le_bytes());
        }
        std::fs::write(&path, &bytes).unwrap();
        prop_assert!(Database::open(&path).is_err());
    }
}
