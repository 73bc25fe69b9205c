//! customs-sign signs and verifies images the way cosign does: encrypted keys, simple-signing
//! payloads, DSSE in-toto attestations, and offline Sigstore bundle verification.

pub mod dsse;
pub mod error;
mod gojson;
pub mod intoto;
pub mod keys;
pub mod pem;
pub mod simple_signing;

pub use error::{Error, Result};
