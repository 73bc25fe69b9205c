//! Fulcio certificates: chain verification against the trusted root's certificate authorities at
//! a given time, and reading the signer identity (SAN) and OIDC issuer extensions.

use der::asn1::{AnyRef, ObjectIdentifier, Utf8StringRef};
use der::{Decode, Encode, Reader, SliceReader};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::Certificate;

use sha2::Digest as _;

use crate::error::{Error, Result};
use crate::keys::{HashAlg, PublicKey};
use crate::trusted_root::TrustedRoot;

const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Fulcio's legacy OIDC issuer extension (raw string value).
const OID_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension (DER UTF8String value).
const OID_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// GitHub-workflow claims Fulcio v1 records as raw strings (1.3.6.1.4.1.57264.1.2–.6).
const OID_GH_TRIGGER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.2");
const OID_GH_SHA_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.3");
const OID_GH_NAME_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.4");
const OID_GH_REPOSITORY_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.5");
const OID_GH_REF_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.6");
/// Their Fulcio v2 equivalents (DER UTF8String): build trigger, source repository digest,
/// source repository URI, source repository ref.
const OID_BUILD_TRIGGER: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.20");
const OID_SOURCE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.13");
const OID_SOURCE_URI: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.12");
const OID_SOURCE_REF: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.14");

/// Embedded SCT list (RFC 6962 section 3.3).
const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// A parsed certificate together with its exact DER bytes.
#[derive(Debug, Clone)]
pub struct ParsedCertificate {
    /// The DER encoding as received.
    pub der: Vec<u8>,
    cert: Certificate,
    tbs_der: Vec<u8>,
}

impl ParsedCertificate {
    /// Parse a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<ParsedCertificate> {
        let bad = |e: der::Error| Error::MalformedCertificate(e.to_string());
        let cert = Certificate::from_der(der).map_err(bad)?;
        // The signed bytes are the TBSCertificate exactly as received: the first element of the
        // outer SEQUENCE.
        let outer = AnyRef::from_der(der).map_err(bad)?;
        let mut reader = SliceReader::new(outer.value()).map_err(bad)?;
        let tbs: AnyRef<'_> = reader.decode().map_err(bad)?;
        let tbs_der = tbs.to_der().map_err(bad)?;
        Ok(ParsedCertificate {
            der: der.to_vec(),
            cert,
            tbs_der,
        })
    }

    /// The subject public key.
    pub fn public_key(&self) -> Result<PublicKey> {
        let spki = self
            .cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| Error::MalformedCertificate(e.to_string()))?;
        PublicKey::from_spki_der(&spki)
    }

    /// notBefore and notAfter in unix seconds.
    pub fn validity(&self) -> (i64, i64) {
        let v = &self.cert.tbs_certificate.validity;
        let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
        (secs(v.not_before), secs(v.not_after))
    }

    fn extension(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    /// Email and URI subject alternative names.
    pub fn identities(&self) -> Vec<String> {
        let Some(raw) = self.extension(OID_SAN) else {
            return Vec::new();
        };
        let Ok(san) = SubjectAltName::from_der(raw) else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|name| match name {
                GeneralName::Rfc822Name(s) => Some(s.to_string()),
                GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The OIDC issuer: extension 1.3.6.1.4.1.57264.1.8, else the legacy .1.1.
    pub fn oidc_issuer(&self) -> Option<String> {
        if let Some(raw) = self.extension(OID_ISSUER_V2) {
            return Utf8StringRef::from_der(raw).ok().map(|s| s.to_string());
        }
        self.extension(OID_ISSUER_V1)
            .and_then(|raw| String::from_utf8(raw.to_vec()).ok())
    }

    /// A GitHub-workflow claim: the Fulcio v1 extension (raw string) when present, else its
    /// Fulcio v2 equivalent (DER UTF8String). The workflow name has no v2 equivalent. A v2
    /// source repository URI of the form `https://github.com/OWNER/REPO` is given as
    /// `OWNER/REPO`, the value the v1 extension and cosign's flag use.
    pub fn github_claim(&self, claim: GithubClaim) -> Option<String> {
        let (v1, v2) = claim.oids();
        if let Some(raw) = self.extension(v1) {
            return String::from_utf8(raw.to_vec()).ok();
        }
        let value = Utf8StringRef::from_der(self.extension(v2?)?)
            .ok()?
            .to_string();
        match claim {
            GithubClaim::Repository => Some(
                value
                    .strip_prefix("https://github.com/")
                    .map(str::to_string)
                    .unwrap_or(value),
            ),
            _ => Some(value),
        }
    }

    /// Whether the extended key usage includes code signing.
    pub fn has_code_signing_eku(&self) -> bool {
        self.has_eku(OID_CODE_SIGNING)
    }

    /// Whether the extended key usage includes `oid`.
    pub fn has_eku(&self, oid: ObjectIdentifier) -> bool {
        self.extension(OID_EKU)
            .and_then(|raw| ExtendedKeyUsage::from_der(raw).ok())
            .is_some_and(|eku| eku.0.contains(&oid))
    }

    /// Whether the certificate presents itself as a root: its subject is its issuer (whether or
    /// not its signature verifies). Names are compared by their RFC 4514 text, so the same name
    /// written with another string type still matches.
    pub fn is_self_issued(&self) -> bool {
        let tbs = &self.cert.tbs_certificate;
        tbs.subject == tbs.issuer || tbs.subject.to_string() == tbs.issuer.to_string()
    }

    /// Verify that `issuer`'s key signed this certificate.
    pub fn verify_signed_by(&self, issuer: &ParsedCertificate) -> Result<()> {
        let hash = match self.cert.signature_algorithm.oid.to_string().as_str() {
            "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => HashAlg::Sha256,
            "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => HashAlg::Sha384,
            "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" | "1.3.101.112" => HashAlg::Sha512,
            other => {
                return Err(Error::UntrustedCertificate(format!(
                    "unsupported signature algorithm {other}"
                )))
            }
        };
        let sig = self.cert.signature.raw_bytes();
        issuer
            .public_key()?
            .verify_with(hash, &self.tbs_der, sig)
            .map_err(|_| {
                Error::UntrustedCertificate("certificate signature does not verify".into())
            })
    }
}

/// Read a big-endian length-prefixed field of `n` length bytes from `buf` at `*pos`.
fn take<'a>(buf: &'a [u8], pos: &mut usize, len: usize) -> Result<&'a [u8]> {
    let end = pos
        .checked_add(len)
        .filter(|&e| e <= buf.len())
        .ok_or_else(|| Error::BadSct("truncated SCT list".to_string()))?;
    let out = &buf[*pos..end];
    *pos = end;
    Ok(out)
}

fn take_prefixed<'a>(buf: &'a [u8], pos: &mut usize, len_bytes: usize) -> Result<&'a [u8]> {
    let len = take(buf, pos, len_bytes)?
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    take(buf, pos, len)
}

/// Verify that at least one embedded SCT of `leaf` (issued by `issuer`) is signed by a CT log of
/// `root` that was valid at the SCT's time.
pub fn verify_embedded_sct(
    leaf: &ParsedCertificate,
    issuer: &ParsedCertificate,
    root: &TrustedRoot,
) -> Result<()> {
    let bad = |m: &str| Error::BadSct(m.to_string());
    let raw = leaf
        .extension(OID_SCT_LIST)
        .ok_or_else(|| bad("certificate has no embedded SCT"))?;
    let list = der::asn1::OctetStringRef::from_der(raw)
        .map_err(|_| bad("SCT extension is not an OCTET STRING"))?;
    let list = list.as_bytes();
    let mut pos = 0;
    let scts = take_prefixed(list, &mut pos, 2)?;

    // The precertificate TBS: the leaf's TBSCertificate without the SCT extension.
    let mut tbs = leaf.cert.tbs_certificate.clone();
    if let Some(exts) = tbs.extensions.as_mut() {
        exts.retain(|e| e.extn_id != OID_SCT_LIST);
    }
    let tbs_der = tbs.to_der().map_err(|e| bad(&e.to_string()))?;
    let issuer_spki = issuer
        .cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| bad(&e.to_string()))?;
    let issuer_key_hash = sha2::Sha256::digest(&issuer_spki);

    let mut pos = 0;
    while pos < scts.len() {
        let sct = take_prefixed(scts, &mut pos, 2)?;
        let mut p = 0;
        let version = take(sct, &mut p, 1)?[0];
        let log_id = take(sct, &mut p, 32)?;
        let timestamp = take(sct, &mut p, 8)?;
        let extensions = take_prefixed(sct, &mut p, 2)?;
        let _hash_and_sig_alg = take(sct, &mut p, 2)?;
        let signature = take_prefixed(sct, &mut p, 2)?;
        if version != 0 {
            continue;
        }
        let Some(log) = root.ctlogs.iter().find(|l| l.log_id == log_id) else {
            continue;
        };
        let ms = timestamp
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if !log.valid_for.contains((ms / 1000) as i64) {
            continue;
        }
        let mut signed = vec![0u8, 0u8]; // version v1, signature type certificate_timestamp
        signed.extend_from_slice(timestamp);
        signed.extend_from_slice(&[0, 1]); // entry type precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        let len = tbs_der.len();
        if len >= 1 << 24 {
            return Err(bad("TBS certificate too large"));
        }
        signed.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8]);
        signed.extend_from_slice(&tbs_der);
        signed.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        signed.extend_from_slice(extensions);
        if log.key.verify(&signed, signature).is_ok() {
            return Ok(());
        }
    }
    Err(bad(
        "no embedded SCT verifies with a CT log key of the trusted root",
    ))
}

/// Check that `cert` was valid at `time` (both ends of its validity inclusive).
pub fn check_valid_at(cert: &ParsedCertificate, time: i64, what: &str) -> Result<()> {
    let (not_before, not_after) = cert.validity();
    if time < not_before || time > not_after {
        return Err(Error::CertificateNotValidAt {
            time,
            detail: format!("{what} is valid from {not_before} to {not_after}"),
        });
    }
    Ok(())
}

/// Verify that `leaf` chains to a certificate authority of `root` that was valid at `time`, and
/// that the leaf and every chain certificate were valid at `time`. The leaf must allow code
/// signing, and an embedded SCT must verify with a CT log of the trusted root (a root without CT
/// logs fails: see [`verify_chain_with`] to opt out).
pub fn verify_chain(leaf: &ParsedCertificate, root: &TrustedRoot, time: i64) -> Result<()> {
    verify_chain_with(leaf, root, time, true)
}

/// [`verify_chain`], with the SCT check made optional: `require_sct = false` is cosign's
/// `--insecure-ignore-sct`.
pub fn verify_chain_with(
    leaf: &ParsedCertificate,
    root: &TrustedRoot,
    time: i64,
    require_sct: bool,
) -> Result<()> {
    if root.certificate_authorities.is_empty() {
        return Err(Error::UntrustedCertificate(
            "the trusted root has no certificate authorities".to_string(),
        ));
    }
    if !leaf.has_code_signing_eku() {
        return Err(Error::UntrustedCertificate(
            "certificate lacks the code-signing extended key usage".to_string(),
        ));
    }
    let mut last = Error::UntrustedCertificate(
        "no certificate authority in the trusted root issued this certificate".to_string(),
    );
    for ca in &root.certificate_authorities {
        let Ok(chain) = ca
            .chain
            .iter()
            .map(|der| ParsedCertificate::from_der(der))
            .collect::<Result<Vec<_>>>()
        else {
            continue;
        };
        if leaf.verify_signed_by(&chain[0]).is_err() {
            continue;
        }
        // The issuing CA signed this leaf: any failure from here on is the real reason.
        let outcome = (|| {
            if let Some(why) = ca.valid_for.why_outside(time) {
                return Err(Error::CertificateNotValidAt {
                    time,
                    detail: format!("certificate authority {} was not valid then: {why}", ca.uri),
                });
            }
            for pair in chain.windows(2) {
                pair[0].verify_signed_by(&pair[1])?;
            }
            let top = &chain[chain.len() - 1];
            top.verify_signed_by(top)?;
            for (i, c) in chain.iter().enumerate() {
                check_valid_at(c, time, &format!("CA certificate #{i}"))?;
            }
            check_valid_at(leaf, time, "the signing certificate")?;
            if require_sct {
                if root.ctlogs.is_empty() {
                    return Err(Error::BadSct(
                        "the trusted root lists no CT logs, so the certificate's SCT cannot be checked (pass --insecure-ignore-sct to accept that)".to_string(),
                    ));
                }
                verify_embedded_sct(leaf, &chain[0], root)?;
            }
            Ok(())
        })();
        match outcome {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The identity a keyless signature must come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateIdentity {
    /// Exact SAN: an email address or URI.
    pub subject: String,
    /// Exact OIDC issuer URL.
    pub issuer: String,
}

/// Check the certificate's SAN and OIDC issuer against `expected`.
pub fn check_identity(cert: &ParsedCertificate, expected: &CertificateIdentity) -> Result<()> {
    let found = cert.identities();
    if !found.iter().any(|s| s == &expected.subject) {
        return Err(Error::IdentityMismatch {
            expected: expected.subject.clone(),
            found,
        });
    }
    let issuer = cert.oidc_issuer();
    if issuer.as_deref() != Some(expected.issuer.as_str()) {
        return Err(Error::IssuerMismatch {
            expected: expected.issuer.clone(),
            found: issuer,
        });
    }
    Ok(())
}

/// How one certificate field must match: exactly, or by a regular expression (unanchored, like
/// cosign's Go `regexp.MatchString`: anchor it with `^…$` to match the whole value).
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The value must be this string.
    Exact(String),
    /// Some part of the value must match.
    Regexp(regex::Regex),
}

impl Matcher {
    /// A regexp matcher, or the regex crate's error as a policy error.
    pub fn regexp(pattern: &str) -> Result<Matcher> {
        regex::Regex::new(pattern)
            .map(Matcher::Regexp)
            .map_err(|e| Error::Policy(format!("bad regular expression {pattern:?}: {e}")))
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regexp(r) => r.is_match(value),
        }
    }

    fn describe(&self) -> String {
        match self {
            Matcher::Exact(s) => s.clone(),
            Matcher::Regexp(r) => format!("/{}/", r.as_str()),
        }
    }
}

/// One of cosign's `--certificate-github-workflow-*` claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GithubClaim {
    /// The event that triggered the workflow (`--certificate-github-workflow-trigger`).
    Trigger,
    /// The commit the workflow ran at (`--certificate-github-workflow-sha`).
    Sha,
    /// The workflow's name (`--certificate-github-workflow-name`; Fulcio v1 only).
    Name,
    /// `OWNER/REPO` (`--certificate-github-workflow-repository`).
    Repository,
    /// The git ref (`--certificate-github-workflow-ref`).
    Ref,
}

impl GithubClaim {
    /// The v1 extension and, when one exists, its v2 equivalent.
    fn oids(self) -> (ObjectIdentifier, Option<ObjectIdentifier>) {
        match self {
            GithubClaim::Trigger => (OID_GH_TRIGGER_V1, Some(OID_BUILD_TRIGGER)),
            GithubClaim::Sha => (OID_GH_SHA_V1, Some(OID_SOURCE_DIGEST)),
            GithubClaim::Name => (OID_GH_NAME_V1, None),
            GithubClaim::Repository => (OID_GH_REPOSITORY_V1, Some(OID_SOURCE_URI)),
            GithubClaim::Ref => (OID_GH_REF_V1, Some(OID_SOURCE_REF)),
        }
    }

    /// The claim's name in messages, as cosign's error text spells it.
    pub fn name(self) -> &'static str {
        match self {
            GithubClaim::Trigger => "GitHub Workflow Trigger",
            GithubClaim::Sha => "GitHub Workflow SHA",
            GithubClaim::Name => "GitHub Workflow Name",
            GithubClaim::Repository => "GitHub Workflow Repository",
            GithubClaim::Ref => "GitHub Workflow Ref",
        }
    }
}

/// The identity a keyless signature must come from, each part exact or by regexp
/// (`--certificate-identity[-regexp]`, `--certificate-oidc-issuer[-regexp]`).
#[derive(Debug, Clone)]
pub struct IdentityMatcher {
    /// Matches one SAN (email or URI).
    pub subject: Matcher,
    /// Matches the OIDC issuer.
    pub issuer: Matcher,
    /// GitHub-workflow claims that must equal these values exactly (cosign's
    /// `--certificate-github-workflow-*` flags).
    pub github: Vec<(GithubClaim, String)>,
}

impl From<&IdentityMatcher> for IdentityMatcher {
    fn from(m: &IdentityMatcher) -> IdentityMatcher {
        m.clone()
    }
}

impl From<&CertificateIdentity> for IdentityMatcher {
    fn from(id: &CertificateIdentity) -> IdentityMatcher {
        IdentityMatcher {
            subject: Matcher::Exact(id.subject.clone()),
            issuer: Matcher::Exact(id.issuer.clone()),
            github: Vec::new(),
        }
    }
}

/// Check the certificate's SANs and OIDC issuer against `expected`.
pub fn check_identity_matcher(cert: &ParsedCertificate, expected: &IdentityMatcher) -> Result<()> {
    let found = cert.identities();
    if !found.iter().any(|s| expected.subject.matches(s)) {
        return Err(Error::IdentityMismatch {
            expected: expected.subject.describe(),
            found,
        });
    }
    let issuer = cert.oidc_issuer();
    if !issuer
        .as_deref()
        .is_some_and(|i| expected.issuer.matches(i))
    {
        return Err(Error::IssuerMismatch {
            expected: expected.issuer.describe(),
            found: issuer,
        });
    }
    for (claim, want) in &expected.github {
        let found = cert.github_claim(*claim);
        if found.as_deref() != Some(want.as_str()) {
            return Err(Error::ClaimMismatch {
                claim: claim.name(),
                expected: want.clone(),
                found,
            });
        }
    }
    Ok(())
}
