//! Fuzzes the CycloneDX XML SBOM reader (`customs scan --sbom bom.xml`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_inventory::sbom_input::read_cyclonedx_xml(data, "bom.xml");
});
