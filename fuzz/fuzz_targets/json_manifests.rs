//! Fuzzes the typed, capped JSON manifest readers: package.json (root and installed),
//! package-lock.json, .deps.json, composer.lock and installed.json.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_inventory::npm::parse("srv/app/package.json", data);
    let _ = customs_inventory::npm::parse("srv/app/node_modules/a/package.json", data);
    let _ = customs_inventory::npm::parse("srv/app/package-lock.json", data);
    let _ = customs_inventory::dotnet::parse("app/App.deps.json", data);
    let _ = customs_inventory::php::parse("app/composer.lock", data);
    let _ = customs_inventory::php::parse("app/vendor/composer/installed.json", data);
});
