//! The audit reads untrusted bytes (system files, file contents, config strings): none of
//! them may make it panic.

use customs_audit::{audit, secrets, AuditOptions};
use customs_image::{Image, OpenOptions};
use customs_testkit::ocibuild::{base_layer, build, file, Spec};
use proptest::prelude::*;
use serde_json::json;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn secret_scan_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048), path in "[a-z./_]{0,30}") {
        let text = String::from_utf8_lossy(&bytes);
        let _ = secrets::scan_contents(&path, 0, &text);
        let _ = secrets::check_assignment(&path, &text);
        let _ = secrets::secret_file_kind(&path);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn audit_never_panics_on_arbitrary_system_files(
        passwd in proptest::collection::vec(any::<u8>(), 0..512),
        shadow in proptest::collection::vec(any::<u8>(), 0..512),
        group in proptest::collection::vec(any::<u8>(), 0..512),
        os in proptest::collection::vec(any::<u8>(), 0..256),
        user in ".{0,20}",
        created in ".{0,40}",
    ) {
        let mut layer = base_layer();
        layer.retain(|e| !e.path.starts_with("etc/"));
        layer.push(file("etc/passwd", passwd));
        layer.push(file("etc/shadow", shadow));
        layer.push(file("etc/group", group));
        layer.push(file("etc/os-release", os));
        let spec = Spec {
            layers: vec![layer],
            config: json!({"User": user, "Entrypoint": ["server"]}),
            created: Some(created),
            ..Spec::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let target = build(dir.path(), &spec);
        let image = Image::open_str(&target, &OpenOptions::default()).unwrap();
        audit(&image, &AuditOptions::default()).unwrap();
    }
}
