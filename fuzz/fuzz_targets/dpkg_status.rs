//! Fuzzes the dpkg status, status.d and file-list parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_inventory::dpkg::parse_status(data);
    let _ = customs_inventory::dpkg::parse_status_d(&[("pkg".to_string(), data.to_vec())]);
    let _ = customs_inventory::dpkg::parse_file_list(data);
});
