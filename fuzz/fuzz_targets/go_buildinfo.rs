//! Fuzzes the Go build info reader: executable headers (ELF, PE, Mach-O), the build info
//! header in both layouts, and the modinfo text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_inventory::golang::parse("usr/local/bin/app", data);
    let _ = customs_inventory::golang::parse_modinfo(&String::from_utf8_lossy(data));
});
