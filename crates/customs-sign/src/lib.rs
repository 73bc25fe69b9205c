//! customs-sign signs and verifies images the way cosign does: encrypted keys, simple-signing
//! payloads, DSSE in-toto attestations, and offline Sigstore bundle verification. It owns the
//! cryptography and the data formats, and where they are stored next to an image ([`store`],
//! through customs-image's registry client and OCI layouts). It calls no signing service,
//! except a Rekor the user names with `--rekor-url` ([`rekor_upload`], off by default).
//!
//! ```
//! use customs_sign::{keys::PrivateKey, simple_signing};
//!
//! let key = PrivateKey::generate_p256();
//! let digest = "sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec";
//! let payload = simple_signing::payload("index.docker.io/namespace/image", digest, None);
//! let sig = simple_signing::sign(&key, &payload).unwrap();
//! let expected = simple_signing::Expectations {
//!     manifest_digest: digest.to_string(),
//!     ..Default::default()
//! };
//! simple_signing::verify(&payload, &sig, &key.public_key(), &expected).unwrap();
//! ```

#![deny(missing_docs)]

pub mod blob;
pub mod bundle;
pub mod certs;
pub mod dsse;
pub mod error;
mod gojson;
pub mod intoto;
pub mod keys;
pub mod layout;
pub mod legacy;
pub mod pem;
pub mod rekor;
pub mod rekor_upload;
pub mod simple_signing;
pub mod store;
pub mod timestamp;
pub mod trusted_root;
pub mod verify_image;

pub use error::{Error, Result};
