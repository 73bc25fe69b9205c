//! Fuzzes manifest, index and image-config parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = customs_image::manifest::parse_manifest(data, None);
    let _ = customs_image::manifest::parse_manifest(data, Some("application/vnd.oci.image.index.v1+json"));
    let _ = serde_json::from_slice::<customs_image::ImageConfig>(data);
});
