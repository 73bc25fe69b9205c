//! Fuzzes the rpm database readers (BerkeleyDB, NDB, SQLite chosen by magic), the header
//! blob decoder and the CBL-Mariner manifest. Seed the corpus with the files in
//! `../shared/fixtures/rpm/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_inventory::rpm::parse_database("var/lib/rpm/Packages", data);
    let _ =
        customs_inventory::rpm::parse_database("var/lib/rpmmanifest/container-manifest-2", data);
    let _ = customs_inventory::rpm::header::parse(data);
});
