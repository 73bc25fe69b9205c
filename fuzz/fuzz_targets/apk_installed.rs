//! Fuzzes the apk installed-database parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_inventory::apk::parse_installed(data);
});
