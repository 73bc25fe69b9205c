//! Private PKI and GitHub-workflow claims, through the CLI: a root and an intermediate CA made
//! here with rcgen issue a Fulcio-style leaf (email SAN, code-signing EKU, issuer and
//! GitHub-workflow extensions, v1 or v2 encodings); a Rekor key made here signs the SET that
//! gives the signing time. The trusted root lists only that Rekor key and no CA, so a leaf
//! verifies only through `--ca-roots`/`--ca-intermediates` or `--certificate-chain`. It lists no
//! CT log either, so every keyless run passes `--insecure-ignore-sct` (a private CA has no CT
//! log, as in cosign's private-PKI setups). Covered: `verify-blob`, `verify-bundle`,
//! `verify-blob-attestation`, image `verify` (a classic keyless `.sig` layer) and image
//! `verify-attestation` (a classic keyless `.att` layer).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use customs_sign::keys::PrivateKey;
use customs_sign::layout::{SignatureLayer, BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, SanType,
};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_customs");
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const IDENTITY: &str = "builder@example.com";
const ISSUER: &str = "https://issuer.example";

fn customs(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn pem(der: &[u8]) -> String {
    customs_sign::pem::encode("CERTIFICATE", der)
}

/// DER UTF8String, for Fulcio v2 extensions.
fn utf8(s: &str) -> Vec<u8> {
    assert!(s.len() < 128);
    let mut out = vec![0x0c, s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, cn);
    p
}

/// A private PKI: root, intermediate, and a leaf key with certificates of either encoding.
struct Pki {
    root: Vec<u8>,
    intermediate: Vec<u8>,
    other_root: Vec<u8>,
    leaf_key: PrivateKey,
    leaf_v1: Vec<u8>,
    leaf_v2: Vec<u8>,
}

fn pki() -> Pki {
    let root_key = KeyPair::generate().unwrap();
    let root_params = ca_params("customs test private root");
    let root = root_params.self_signed(&root_key).unwrap().der().to_vec();
    let root_issuer = Issuer::new(root_params, root_key);
    let inter_key = KeyPair::generate().unwrap();
    let inter_params = ca_params("customs test private intermediate");
    let intermediate = inter_params
        .signed_by(&inter_key, &root_issuer)
        .unwrap()
        .der()
        .to_vec();
    let inter_issuer = Issuer::new(inter_params, inter_key);
    let other_key = KeyPair::generate().unwrap();
    let other_root = ca_params("another root")
        .self_signed(&other_key)
        .unwrap()
        .der()
        .to_vec();

    let leaf_key = PrivateKey::generate_p256();
    let leaf_pair = KeyPair::try_from(leaf_key.to_pkcs8_der().unwrap().as_slice()).unwrap();
    let leaf = |exts: Vec<(&[u64], Vec<u8>)>| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.subject_alt_names = vec![SanType::Rfc822Name(IDENTITY.try_into().unwrap())];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        p.custom_extensions = exts
            .into_iter()
            .map(|(oid, v)| CustomExtension::from_oid_content(oid, v))
            .collect();
        p.signed_by(&leaf_pair, &inter_issuer)
            .unwrap()
            .der()
            .to_vec()
    };
    const F: [u64; 8] = [1, 3, 6, 1, 4, 1, 57264, 1];
    let oid = |n: u64| -> Vec<u64> { F.iter().copied().chain([n]).collect() };
    let (o1, o2, o3, o4, o5, o6, o8, o12, o13, o14, o20) = (
        oid(1),
        oid(2),
        oid(3),
        oid(4),
        oid(5),
        oid(6),
        oid(8),
        oid(12),
        oid(13),
        oid(14),
        oid(20),
    );
    // Fulcio v1: raw strings.
    let leaf_v1 = leaf(vec![
        (&o1, ISSUER.as_bytes().to_vec()),
        (&o2, b"push".to_vec()),
        (&o3, b"0123456789abcdef0123456789abcdef01234567".to_vec()),
        (&o4, b"release".to_vec()),
        (&o5, b"octo/app".to_vec()),
        (&o6, b"refs/heads/main".to_vec()),
    ]);
    // Fulcio v2: UTF8Strings, the repository as a URI, and no workflow name.
    let leaf_v2 = leaf(vec![
        (&o8, utf8(ISSUER)),
        (&o20, utf8("workflow_dispatch")),
        (&o13, utf8("fedcba9876543210fedcba9876543210fedcba98")),
        (&o12, utf8("https://github.com/octo/v2app")),
        (&o14, utf8("refs/tags/v2")),
    ]);
    Pki {
        root,
        intermediate,
        other_root,
        leaf_key,
        leaf_v1,
        leaf_v2,
    }
}

/// A Rekor log made here: its key signs SETs; the trusted root lists it and nothing else.
struct Log {
    key: PrivateKey,
    log_id: Vec<u8>,
}

impl Log {
    fn new() -> Log {
        let key = PrivateKey::generate_p256();
        let log_id = Sha256::digest(key.public_key().to_spki_der().unwrap()).to_vec();
        Log { key, log_id }
    }

    fn trusted_root(&self) -> Value {
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": "https://rekor.test",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(self.key.public_key().to_spki_der().unwrap()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"}
                },
                "logId": {"keyId": B64.encode(&self.log_id)}
            }],
            "certificateAuthorities": [],
            "ctlogs": [],
            "timestampAuthorities": []
        })
    }

    /// (body b64, integrated time, log index, SET b64) for `body`.
    fn enter(&self, body: &Value) -> (String, i64, i64, String) {
        let body_b64 = B64.encode(serde_json::to_vec(body).unwrap());
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            - 60;
        let index = 42;
        let payload =
            customs_sign::rekor::set_payload(&body_b64, time, &hex::encode(&self.log_id), index);
        let set = B64.encode(self.key.sign(&payload).unwrap());
        (body_b64, time, index, set)
    }

    /// A bundle v0.1 tlog entry.
    fn bundle_entry(&self, kind: &str, version: &str, body: &Value) -> Value {
        let (body_b64, time, index, set) = self.enter(body);
        json!({
            "logIndex": index.to_string(),
            "logId": {"keyId": B64.encode(&self.log_id)},
            "kindVersion": {"kind": kind, "version": version},
            "integratedTime": time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": set},
            "canonicalizedBody": body_b64
        })
    }

    /// cosign's `dev.sigstore.cosign/bundle` annotation.
    fn annotation(&self, body: &Value) -> String {
        let (body_b64, time, index, set) = self.enter(body);
        json!({
            "SignedEntryTimestamp": set,
            "Payload": {
                "body": body_b64,
                "integratedTime": time,
                "logIndex": index,
                "logID": hex::encode(&self.log_id)
            }
        })
        .to_string()
    }
}

fn cert_pem_b64(cert: &[u8]) -> String {
    B64.encode(pem(cert))
}

/// A keyless message-signature bundle for `data`.
fn blob_bundle(pki: &Pki, log: &Log, cert: &[u8], data: &[u8]) -> Value {
    let digest: [u8; 32] = Sha256::digest(data).into();
    let sig = pki.leaf_key.sign_sha256_digest(&digest).unwrap();
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
            "signature": {"content": B64.encode(&sig), "publicKey": {"content": cert_pem_b64(cert)}}
        }
    });
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": [{"rawBytes": B64.encode(cert)}]},
            "tlogEntries": [log.bundle_entry("hashedrekord", "0.0.1", &body)]
        },
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(digest)},
            "signature": B64.encode(&sig)
        }
    })
}

/// A keyless DSSE attestation bundle for `data` (dsse 0.0.1 entry).
fn attestation_bundle(pki: &Pki, log: &Log, cert: &[u8], data: &[u8]) -> Value {
    let statement = customs_sign::intoto::Statement::new(
        "blob",
        &hex::encode(Sha256::digest(data)),
        customs_sign::intoto::PREDICATE_SLSA_V1,
        json!({"buildDefinition": {"buildType": "https://example.com/build"}}),
    );
    let payload = statement.to_json();
    let env = customs_sign::dsse::Envelope::sign(
        &pki.leaf_key,
        customs_sign::dsse::INTOTO_PAYLOAD_TYPE,
        &payload,
    )
    .unwrap();
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&payload))},
            "signatures": [{"signature": env.signatures[0].sig, "verifier": cert_pem_b64(cert)}]
        }
    });
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": [{"rawBytes": B64.encode(cert)}]},
            "tlogEntries": [log.bundle_entry("dsse", "0.0.1", &body)]
        },
        "dsseEnvelope": serde_json::from_slice::<Value>(&env.to_json()).unwrap()
    })
}

struct Setup {
    dir: tempfile::TempDir,
    pki: Pki,
    log: Log,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let log = Log::new();
    let w = |name: &str, data: &[u8]| std::fs::write(dir.path().join(name), data).unwrap();
    w("root.pem", pem(&pki.root).as_bytes());
    w("inter.pem", pem(&pki.intermediate).as_bytes());
    w(
        "chain.pem",
        format!("{}{}", pem(&pki.intermediate), pem(&pki.root)).as_bytes(),
    );
    w("other-root.pem", pem(&pki.other_root).as_bytes());
    w(
        "trusted_root.json",
        &serde_json::to_vec(&log.trusted_root()).unwrap(),
    );
    w("blob", b"private PKI artifact\n");
    Setup { dir, pki, log }
}

const PKI_FLAGS: [&str; 4] = ["--ca-roots", "root.pem", "--ca-intermediates", "inter.pem"];

fn keyless<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "--trusted-root",
        "trusted_root.json",
        "--insecure-ignore-sct",
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        ISSUER,
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn verify_blob_and_bundle_trust_only_the_given_private_pki() {
    let s = setup();
    let d = s.dir.path();
    let bundle = blob_bundle(&s.pki, &s.log, &s.pki.leaf_v1, b"private PKI artifact\n");
    std::fs::write(d.join("blob.bundle"), serde_json::to_vec(&bundle).unwrap()).unwrap();
    let run = |cmd: &str, extra: &[&str]| {
        let mut args = vec![cmd, "--bundle", "blob.bundle"];
        args.extend(keyless(extra));
        args.push("blob");
        customs(d, &args)
    };
    for cmd in ["verify-blob", "verify-bundle"] {
        let ok = run(cmd, &PKI_FLAGS);
        assert_eq!(code(&ok), 0, "{cmd}: {}", text(&ok));
        assert!(text(&ok).contains("Rekor SET"), "{}", text(&ok));
        let chain = run(cmd, &["--certificate-chain", "chain.pem"]);
        assert_eq!(
            code(&chain),
            0,
            "{cmd} --certificate-chain: {}",
            text(&chain)
        );
    }
    // Without the private PKI the trusted root has no CA at all.
    let none = run("verify-blob", &[]);
    assert_eq!(code(&none), 1, "{}", text(&none));
    assert!(
        text(&none).contains("no certificate authorities"),
        "{}",
        text(&none)
    );
    // The root alone does not reach the leaf: its issuer is the intermediate.
    let root_only = run("verify-blob", &["--ca-roots", "root.pem"]);
    assert_eq!(code(&root_only), 1, "{}", text(&root_only));
    assert!(
        text(&root_only).contains("untrusted certificate"),
        "{}",
        text(&root_only)
    );
    // Another root with the right intermediate: the intermediate leads to no given root.
    let other = run(
        "verify-blob",
        &[
            "--ca-roots",
            "other-root.pem",
            "--ca-intermediates",
            "inter.pem",
        ],
    );
    assert_eq!(code(&other), 1, "{}", text(&other));
    // An intermediate given as the root is refused: roots must be self-signed.
    let not_root = run("verify-blob", &["--ca-roots", "inter.pem"]);
    assert_eq!(code(&not_root), 2, "{}", text(&not_root));
    assert!(
        text(&not_root).contains("not self-signed"),
        "{}",
        text(&not_root)
    );
    // --ca-roots and --certificate-chain exclude each other, as in cosign.
    let both = run(
        "verify-blob",
        &["--ca-roots", "root.pem", "--certificate-chain", "chain.pem"],
    );
    assert_eq!(code(&both), 2, "{}", text(&both));
    // The SCT is required unless the user opts out: this root lists no CT log.
    let mut args = vec![
        "verify-blob",
        "--bundle",
        "blob.bundle",
        "--trusted-root",
        "trusted_root.json",
        "--certificate-identity",
        IDENTITY,
        "--certificate-oidc-issuer",
        ISSUER,
    ];
    args.extend(PKI_FLAGS);
    args.push("blob");
    let sct = customs(d, &args);
    assert_eq!(code(&sct), 1, "{}", text(&sct));
    assert!(text(&sct).contains("CT logs"), "{}", text(&sct));
    // Another file does not verify with this bundle.
    std::fs::write(d.join("other"), b"other").unwrap();
    let mut args = vec!["verify-blob", "--bundle", "blob.bundle"];
    args.extend(keyless(&PKI_FLAGS));
    args.push("other");
    assert_eq!(code(&customs(d, &args)), 1);
}

#[test]
fn github_workflow_claims_are_read_from_v1_and_v2_extensions() {
    let s = setup();
    let d = s.dir.path();
    let data = b"private PKI artifact\n";
    for (name, cert) in [("v1.bundle", &s.pki.leaf_v1), ("v2.bundle", &s.pki.leaf_v2)] {
        let b = blob_bundle(&s.pki, &s.log, cert, data);
        std::fs::write(d.join(name), serde_json::to_vec(&b).unwrap()).unwrap();
    }
    let run = |bundle: &str, claims: &[&str]| {
        let mut args = vec!["verify-blob", "--bundle", bundle];
        let mut extra: Vec<&str> = PKI_FLAGS.to_vec();
        extra.extend_from_slice(claims);
        args.extend(keyless(&extra));
        args.push("blob");
        customs(d, &args)
    };
    let v1 = [
        "--certificate-github-workflow-trigger",
        "push",
        "--certificate-github-workflow-sha",
        "0123456789abcdef0123456789abcdef01234567",
        "--certificate-github-workflow-name",
        "release",
        "--certificate-github-workflow-repository",
        "octo/app",
        "--certificate-github-workflow-ref",
        "refs/heads/main",
    ];
    let ok = run("v1.bundle", &v1);
    assert_eq!(code(&ok), 0, "{}", text(&ok));
    for (flag, wrong, claim) in [
        (
            "--certificate-github-workflow-trigger",
            "pull_request",
            "Trigger",
        ),
        ("--certificate-github-workflow-sha", "ffff", "SHA"),
        ("--certificate-github-workflow-name", "other", "Name"),
        (
            "--certificate-github-workflow-repository",
            "octo/other",
            "Repository",
        ),
        ("--certificate-github-workflow-ref", "refs/heads/dev", "Ref"),
    ] {
        let out = run("v1.bundle", &[flag, wrong]);
        assert_eq!(code(&out), 1, "{flag}: {}", text(&out));
        assert!(
            text(&out).contains(&format!(
                "expected GitHub Workflow {claim} {wrong:?} not found"
            )),
            "{}",
            text(&out)
        );
    }
    let v2 = [
        "--certificate-github-workflow-trigger",
        "workflow_dispatch",
        "--certificate-github-workflow-sha",
        "fedcba9876543210fedcba9876543210fedcba98",
        "--certificate-github-workflow-repository",
        "octo/v2app",
        "--certificate-github-workflow-ref",
        "refs/tags/v2",
    ];
    let ok = run("v2.bundle", &v2);
    assert_eq!(code(&ok), 0, "{}", text(&ok));
    // Fulcio v2 has no workflow-name claim.
    let name = run(
        "v2.bundle",
        &["--certificate-github-workflow-name", "release"],
    );
    assert_eq!(code(&name), 1, "{}", text(&name));
    assert!(text(&name).contains("it has None"), "{}", text(&name));
    // Claims need an identity, as in cosign.
    let lone = customs(
        d,
        &[
            "verify-blob",
            "--bundle",
            "v1.bundle",
            "--certificate-github-workflow-ref",
            "refs/heads/main",
            "blob",
        ],
    );
    assert_eq!(code(&lone), 2, "{}", text(&lone));
}

#[test]
fn verify_blob_attestation_with_private_pki() {
    let s = setup();
    let d = s.dir.path();
    let b = attestation_bundle(&s.pki, &s.log, &s.pki.leaf_v1, b"private PKI artifact\n");
    std::fs::write(d.join("att.bundle"), serde_json::to_vec(&b).unwrap()).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["verify-blob-attestation", "--bundle", "att.bundle"];
        args.extend(keyless(extra));
        args.extend(["--type", "slsaprovenance1", "blob"]);
        customs(d, &args)
    };
    let ok = run(&PKI_FLAGS);
    assert_eq!(code(&ok), 0, "{}", text(&ok));
    let chain = run(&["--certificate-chain", "chain.pem"]);
    assert_eq!(code(&chain), 0, "{}", text(&chain));
    let none = run(&[]);
    assert_eq!(code(&none), 1, "{}", text(&none));
}

#[test]
fn image_verify_and_verify_attestation_with_private_pki_and_claims() {
    let s = setup();
    let d = s.dir.path();
    let target = customs_testkit::oci::write_empty_image(&d.join("img"));
    let store = customs_sign::store::SignatureStore::open(&target, &Default::default()).unwrap();
    let subject = store.resolve().unwrap();
    let cert = &s.pki.leaf_v1;

    // A classic keyless .sig layer, as cosign 2.x writes it.
    let payload = customs_sign::simple_signing::payload(
        &subject.docker_reference,
        &subject.digest.to_string(),
        None,
    );
    let sig = customs_sign::simple_signing::sign(&s.pki.leaf_key, &payload).unwrap();
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&payload))}},
            "signature": {"content": sig, "publicKey": {"content": cert_pem_b64(cert)}}
        }
    });
    let ann = BTreeMap::from([
        (CERTIFICATE_ANNOTATION.to_string(), pem(cert)),
        (BUNDLE_ANNOTATION.to_string(), s.log.annotation(&body)),
    ]);
    store
        .add_signature(
            &subject.digest,
            &payload,
            SignatureLayer::simple_signing(&payload, &sig, ann),
        )
        .unwrap();

    // A classic keyless .att layer: DSSE envelope, intoto 0.0.2 entry.
    let statement = customs_sign::intoto::Statement::new(
        &subject.docker_reference,
        &subject.digest.to_string(),
        customs_sign::intoto::PREDICATE_CUSTOM,
        json!({"Data": "built privately", "Timestamp": "2026-01-01T00:00:00Z"}),
    );
    let st = statement.to_json();
    let env = customs_sign::dsse::Envelope::sign(
        &s.pki.leaf_key,
        customs_sign::dsse::INTOTO_PAYLOAD_TYPE,
        &st,
    )
    .unwrap();
    let env_json = env.to_json();
    let body = json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {"content": {
            "envelope": {
                "payloadType": customs_sign::dsse::INTOTO_PAYLOAD_TYPE,
                "signatures": [{
                    "sig": B64.encode(&env.signatures[0].sig),
                    "publicKey": cert_pem_b64(cert)
                }]
            },
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&st))}
        }}
    });
    let mut layer = SignatureLayer::attestation(&env_json, customs_sign::intoto::PREDICATE_CUSTOM);
    layer
        .annotations
        .insert(CERTIFICATE_ANNOTATION.to_string(), pem(cert));
    layer
        .annotations
        .insert(BUNDLE_ANNOTATION.to_string(), s.log.annotation(&body));
    store
        .add_attestation(&subject.digest, &env_json, layer)
        .unwrap();

    let run = |cmd: &str, extra: &[&str]| {
        let mut args = vec![cmd];
        args.extend(keyless(extra));
        args.push(&target);
        customs(d, &args)
    };
    let claims = [
        "--certificate-github-workflow-repository",
        "octo/app",
        "--certificate-github-workflow-ref",
        "refs/heads/main",
    ];
    let mut with_claims: Vec<&str> = PKI_FLAGS.to_vec();
    with_claims.extend_from_slice(&claims);
    let ok = run("verify", &with_claims);
    assert_eq!(code(&ok), 0, "{}", text(&ok));
    let v: Value = serde_json::from_str(String::from_utf8_lossy(&ok.stdout).trim()).unwrap();
    assert_eq!(
        v["critical"]["image"]["docker-manifest-digest"],
        subject.digest.to_string()
    );
    let att = run("verify-attestation", &with_claims);
    assert_eq!(code(&att), 0, "{}", text(&att));
    let p: Value = serde_json::from_str(String::from_utf8_lossy(&att.stdout).trim()).unwrap();
    assert_eq!(p["Data"], "built privately");
    let chain = run("verify-attestation", &["--certificate-chain", "chain.pem"]);
    assert_eq!(code(&chain), 0, "{}", text(&chain));

    for cmd in ["verify", "verify-attestation"] {
        let no_pki = run(cmd, &[]);
        assert_eq!(code(&no_pki), 1, "{cmd}: {}", text(&no_pki));
        let mut wrong: Vec<&str> = PKI_FLAGS.to_vec();
        wrong.extend(["--certificate-github-workflow-ref", "refs/heads/dev"]);
        let out = run(cmd, &wrong);
        assert_eq!(code(&out), 1, "{cmd}: {}", text(&out));
        assert!(text(&out).contains("GitHub Workflow Ref"), "{}", text(&out));
    }
}
