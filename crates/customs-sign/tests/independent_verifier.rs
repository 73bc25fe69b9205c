//! An independent implementation (Python `cryptography`) must accept what customs signs: the DER
//! ECDSA signature over a simple-signing payload, checked with the public key PEM we write, and a
//! DSSE signature over the PAE. A changed payload must be rejected by it too.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use customs_sign::dsse::{self, Envelope};
use customs_sign::keys;
use customs_sign::simple_signing;

const SCRIPT: &str = r#"
import sys, base64
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.exceptions import InvalidSignature
pub = serialization.load_pem_public_key(open(sys.argv[1], 'rb').read())
msg = open(sys.argv[2], 'rb').read()
sig = base64.b64decode(open(sys.argv[3], 'rb').read())
try:
    pub.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
    print("VALID")
except InvalidSignature:
    print("INVALID")
"#;

/// The tools venv's Python, when it exists (CI installs it from scripts/requirements-tools.txt).
fn python() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../.venv-tools/bin/python"
    ));
    p.exists().then_some(p)
}

fn python_verdict(py: &PathBuf, pem: &str, msg: &[u8], sig_b64: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (k, m, s) = (
        dir.path().join("key.pub"),
        dir.path().join("msg"),
        dir.path().join("sig"),
    );
    std::fs::write(&k, pem).unwrap();
    std::fs::write(&m, msg).unwrap();
    std::fs::write(&s, sig_b64).unwrap();
    let out = Command::new(py)
        .arg("-c")
        .arg(SCRIPT)
        .args([&k, &m, &s])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn python_cryptography_verifies_our_signatures() {
    let Some(py) = python() else {
        println!("skipping: .venv-tools/bin/python not found (scripts/install-deps creates it)");
        return;
    };
    let pair = keys::generate_key_pair(b"pw").unwrap();
    let key = keys::decrypt_private_key(&pair.private_pem, b"pw").unwrap();

    let payload = simple_signing::payload(
        "example.com/app",
        "sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec",
        None,
    );
    let sig = simple_signing::sign(&key, &payload).unwrap();
    assert_eq!(
        python_verdict(&py, &pair.public_pem, &payload, &sig),
        "VALID"
    );

    let mut changed = payload.clone();
    changed[10] ^= 1;
    assert_eq!(
        python_verdict(&py, &pair.public_pem, &changed, &sig),
        "INVALID"
    );

    let env = Envelope::sign(&key, dsse::INTOTO_PAYLOAD_TYPE, b"{\"a\":1}").unwrap();
    let pae = dsse::pae(&env.payload_type, &env.payload_bytes().unwrap());
    assert_eq!(
        python_verdict(&py, &pair.public_pem, &pae, &env.signatures[0].sig),
        "VALID"
    );
    // Sanity: the signature really is DER (SEQUENCE tag), as cosign writes it.
    let der = base64::engine::general_purpose::STANDARD
        .decode(&sig)
        .unwrap();
    assert_eq!(der[0], 0x30);
}
