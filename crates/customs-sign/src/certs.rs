//! Fulcio certificates: chain verification against the trusted root's certificate authorities at
//! a given time, and reading the signer identity (SAN) and OIDC issuer extensions.

use der::asn1::{AnyRef, ObjectIdentifier, Utf8StringRef};
use der::{Decode, Encode, Reader, SliceReader};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::Certificate;

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

    /// Whether the extended key usage includes code signing.
    pub fn has_code_signing_eku(&self) -> bool {
        self.extension(OID_EKU)
            .and_then(|raw| ExtendedKeyUsage::from_der(raw).ok())
            .is_some_and(|eku| eku.0.contains(&OID_CODE_SIGNING))
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

fn check_valid_at(cert: &ParsedCertificate, time: i64, what: &str) -> Result<()> {
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
/// signing.
pub fn verify_chain(leaf: &ParsedCertificate, root: &TrustedRoot, time: i64) -> Result<()> {
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
            if !ca.valid_for.contains(time) {
                return Err(Error::CertificateNotValidAt {
                    time,
                    detail: format!("certificate authority {} was not valid then", ca.uri),
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
            check_valid_at(leaf, time, "the signing certificate")
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
