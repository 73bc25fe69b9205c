//! Fuzzes the licence readers: Debian copyright files (DEP-5 and plain), pom.xml licences,
//! manifest Bundle-License and registry Cargo.toml licences.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_inventory::copyright::parse(data);
    let text = String::from_utf8_lossy(data);
    let _ = customs_inventory::java::pom_licenses(&text);
    let _ = customs_inventory::java::manifest_licenses(&text);
    let _ = customs_inventory::rust::registry_manifest_license(data);
});
