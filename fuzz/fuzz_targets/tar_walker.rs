//! Fuzzes the layer tar walker and the whiteout-applying filesystem view: arbitrary bytes are
//! walked as a layer (reading every entry's data), applied twice as two layers, and every
//! path is resolved through symlinks.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sink = Vec::new();
    let walked = customs_image::walk_layer(data, |_, r| {
        sink.clear();
        r.take(1 << 20).read_to_end(&mut sink).map(|_| ())
    });
    if let Ok(entries) = walked {
        let mut fs = customs_image::FileSystem::new();
        fs.apply_layer(&entries);
        fs.apply_layer(&entries);
        let paths: Vec<String> = fs.iter().map(|(p, _)| p.to_string()).collect();
        for p in paths {
            let _ = fs.resolve(&p);
            let _ = fs.data_path(&p);
        }
    }
});
