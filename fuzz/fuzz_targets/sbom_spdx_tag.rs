//! Fuzzes the SPDX tag-value SBOM reader and the format detection in front of every SBOM
//! reader (`customs scan --sbom sbom.spdx`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_inventory::sbom_input::read_spdx_tag_value(data, "sbom.spdx");
    let _ = customs_inventory::sbom_input::read_sbom(data, "sbom");
});
