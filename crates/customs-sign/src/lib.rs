//! customs-sign signs and verifies images the way cosign does: encrypted keys, simple-signing
//! payloads, DSSE in-toto attestations, and offline Sigstore bundle verification.
