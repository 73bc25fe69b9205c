//! Fuzzes the Java archive reader: zip structure, nested archives, `pom.properties` and
//! `MANIFEST.MF`. Limits are lowered so that one input stays fast and small in memory.
#![no_main]

use customs_inventory::java::{parse_with_limits, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_depth: 16,
        max_total_bytes: 16 << 20,
        max_members: 10_000,
    };
    let _ = parse_with_limits("app/lib/lib-1.0.jar", data, limits);
});
