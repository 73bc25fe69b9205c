//! Fuzzes the RubyGems readers: installed and default gemspecs (Ruby source read without
//! evaluating it) and Gemfile.lock.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_inventory::ruby::parse(
        "usr/lib/ruby/gems/3.1.0/specifications/default/x-1.0.gemspec",
        data,
    );
    let _ = customs_inventory::ruby::parse("app/Gemfile.lock", data);
});
