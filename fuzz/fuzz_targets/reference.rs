//! Fuzzes image reference, target and WWW-Authenticate parsing: arbitrary input must give a
//! value or an error, never a panic, and a parsed reference must survive Display and parse.
#![no_main]

use customs_image::reference::{Reference, Target};
use customs_registry::auth::parse_www_authenticate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Reference::parse(s) {
        let again = Reference::parse(&r.to_string()).expect("canonical form parses");
        assert_eq!(again, r);
    }
    // Prefixed so that no input names a path on the fuzzing machine.
    let _ = Target::parse(&format!("oci:{s}"));
    let _ = Target::parse(&format!("docker-archive:{s}"));
    let _ = Target::parse(&format!("docker://{s}"));
    let _ = parse_www_authenticate(s);
});
