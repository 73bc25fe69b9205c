//! RFC 3161 signed timestamps, as a Sigstore bundle carries them in
//! `timestampVerificationData.rfc3161Timestamps[].signedTimestamp`: a DER `TimeStampResp`
//! whose token is a CMS `SignedData` over a `TSTInfo`. Verified offline against the trusted
//! root's `timestampAuthorities`; what a verified timestamp gives is a signing time that a
//! third party vouches for (the only other trusted source being a Rekor v1 SET).
//!
//! The ASN.1 is decoded with RustCrypto's `x509-tsp` and `cms` crates; what is written here is
//! only the checks RFC 3161 and RFC 5652 ask of a verifier: the imprint covers the signature,
//! the signed attributes' `messageDigest` covers the `TSTInfo`, the signature over the signed
//! attributes verifies with the TSA's certificate, and that certificate chains to a trusted
//! authority valid at the timestamp's `genTime`.

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::{ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode};
use x509_tsp::{TimeStampResp, TstInfo};

use crate::certs::{self, ParsedCertificate};
use crate::error::{Error, Result};
use crate::keys::HashAlg;
use crate::trusted_root::CertificateAuthority;

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

fn bad(m: impl Into<String>) -> Error {
    Error::BadTimestamp(m.into())
}

fn hash_of(oid: &ObjectIdentifier) -> Result<HashAlg> {
    match oid.to_string().as_str() {
        "2.16.840.1.101.3.4.2.1" | "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => {
            Ok(HashAlg::Sha256)
        }
        "2.16.840.1.101.3.4.2.2" | "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => {
            Ok(HashAlg::Sha384)
        }
        "2.16.840.1.101.3.4.2.3" | "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" => {
            Ok(HashAlg::Sha512)
        }
        other => Err(bad(format!("unsupported hash algorithm {other}"))),
    }
}

/// What a verified timestamp establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// `genTime`, unix seconds.
    pub time: i64,
    /// URI of the timestamp authority that signed it.
    pub authority: String,
}

/// The parts of a timestamp token a verifier checks, decoded once.
struct Token {
    tst_der: Vec<u8>,
    tst: TstInfo,
    signed_attrs_der: Vec<u8>,
    message_digest: Vec<u8>,
    digest_alg: HashAlg,
    sig_hash: HashAlg,
    signature: Vec<u8>,
}

fn decode(resp_der: &[u8]) -> Result<Token> {
    let resp = TimeStampResp::from_der(resp_der)
        .map_err(|e| bad(format!("not a DER TimeStampResp: {e}")))?;
    // PKIStatus granted (0) or grantedWithMods (1).
    let status = resp.status.status as u8;
    if status > 1 {
        return Err(bad(format!(
            "the TSA did not grant the timestamp (status {status})"
        )));
    }
    let token: ContentInfo = resp
        .time_stamp_token
        .ok_or_else(|| bad("response carries no timestamp token"))?;
    if token.content_type != OID_SIGNED_DATA {
        return Err(bad("timestamp token is not CMS SignedData"));
    }
    let sd: SignedData = token
        .content
        .decode_as()
        .map_err(|e| bad(format!("SignedData: {e}")))?;
    if sd.encap_content_info.econtent_type != OID_TST_INFO {
        return Err(bad("SignedData does not hold a TSTInfo"));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| bad("SignedData has no content"))?;
    let tst_der = OctetStringRef::try_from(econtent)
        .map_err(|e| bad(format!("eContent is not an OCTET STRING: {e}")))?
        .as_bytes()
        .to_vec();
    let tst = TstInfo::from_der(&tst_der).map_err(|e| bad(format!("TSTInfo: {e}")))?;
    let mut signers = sd.signer_infos.0.iter();
    let si = match (signers.next(), signers.next()) {
        (Some(si), None) => si,
        _ => return Err(bad("timestamp token must have exactly one signer")),
    };
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| bad("signer info has no signed attributes"))?;
    let mut message_digest = None;
    let mut content_type_ok = false;
    for attr in attrs.iter() {
        let value = attr.values.iter().next();
        if attr.oid == OID_MESSAGE_DIGEST {
            let v = value.ok_or_else(|| bad("empty messageDigest attribute"))?;
            message_digest = Some(
                OctetStringRef::try_from(v)
                    .map_err(|_| bad("messageDigest is not an OCTET STRING"))?
                    .as_bytes()
                    .to_vec(),
            );
        } else if attr.oid == OID_CONTENT_TYPE {
            content_type_ok = value
                .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
                .is_some_and(|o| o == OID_TST_INFO);
        }
    }
    if !content_type_ok {
        return Err(bad("signed contentType attribute is not id-ct-TSTInfo"));
    }
    let message_digest = message_digest.ok_or_else(|| bad("no messageDigest attribute"))?;
    let digest_alg = hash_of(&si.digest_alg.oid)?;
    // ecdsa-with-SHAxxx / shaxxxWithRSA name their hash; a bare key algorithm uses digestAlgorithm.
    let sig_hash = hash_of(&si.signature_algorithm.oid).unwrap_or(digest_alg);
    let signed_attrs_der = attrs
        .to_der()
        .map_err(|e| bad(format!("re-encoding signed attributes: {e}")))?;
    Ok(Token {
        tst_der,
        tst,
        signed_attrs_der,
        message_digest,
        digest_alg,
        sig_hash,
        signature: si.signature.as_bytes().to_vec(),
    })
}

/// Verify one RFC 3161 timestamp response (`resp_der`) over `signature` (the bundle's signature
/// bytes) against `authorities`. Returns the timestamp's time and the authority that vouched.
pub fn verify_timestamp(
    resp_der: &[u8],
    signature: &[u8],
    authorities: &[CertificateAuthority],
) -> Result<VerifiedTimestamp> {
    let t = decode(resp_der)?;
    let imprint_alg = hash_of(&t.tst.message_imprint.hash_algorithm.oid)?;
    if t.tst.message_imprint.hashed_message.as_bytes() != imprint_alg.digest(signature).as_slice() {
        return Err(bad(
            "the timestamp's message imprint is not the hash of this signature",
        ));
    }
    if t.message_digest != t.digest_alg.digest(&t.tst_der) {
        return Err(bad("signed messageDigest does not match the TSTInfo"));
    }
    let time = t.tst.gen_time.to_unix_duration().as_secs() as i64;
    if authorities.is_empty() {
        return Err(bad("the trusted root lists no timestamp authorities"));
    }
    let mut last = bad("no timestamp authority of the trusted root signed this timestamp");
    for tsa in authorities {
        let Ok(chain) = tsa
            .chain
            .iter()
            .map(|der| ParsedCertificate::from_der(der))
            .collect::<Result<Vec<_>>>()
        else {
            continue;
        };
        let Ok(key) = chain[0].public_key() else {
            continue;
        };
        if key
            .verify_with(t.sig_hash, &t.signed_attrs_der, &t.signature)
            .is_err()
        {
            continue;
        }
        // This authority's key signed the token: any failure from here on is the reason.
        let outcome = (|| {
            if let Some(why) = tsa.valid_for.why_outside(time) {
                return Err(bad(format!(
                    "timestamp authority {} was not valid at {time}: {why}",
                    tsa.uri
                )));
            }
            if !chain[0].has_eku(OID_TIME_STAMPING) {
                return Err(bad(
                    "the TSA certificate lacks the time-stamping extended key usage",
                ));
            }
            for pair in chain.windows(2) {
                pair[0].verify_signed_by(&pair[1])?;
            }
            for (i, c) in chain.iter().enumerate() {
                certs::check_valid_at(c, time, &format!("TSA certificate #{i}"))
                    .map_err(|e| bad(e.to_string()))?;
            }
            Ok(())
        })();
        match outcome {
            Ok(()) => {
                return Ok(VerifiedTimestamp {
                    time,
                    authority: tsa.uri.clone(),
                })
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
