//! What customs-image needs of a registry to open an image from one: resolve a reference to
//! one platform's manifest, and stream a blob. `customs-registry` implements [`Remote`] over
//! the OCI Distribution API; customs-image itself speaks no HTTP, so it depends on no
//! registry code and a registry can never be reached by a caller that gave none.

use std::fmt;
use std::io::Read;

use crate::digest::Digest;
use crate::manifest::{Descriptor, Index, Manifest, Platform};
use crate::reference::Reference;

/// The image manifest a reference resolves to for one platform and, when the reference named
/// an index, the index it was chosen from.
#[derive(Debug, Clone)]
pub struct ResolvedManifest {
    /// The digest of the index the manifest was chosen from, if any.
    pub index_digest: Option<Digest>,
    /// That index, parsed.
    pub index: Option<Index>,
    /// The digest of the image manifest.
    pub manifest_digest: Digest,
    /// The image manifest, parsed.
    pub manifest: Manifest,
    /// Its exact bytes (they hash to `manifest_digest`).
    pub manifest_bytes: Vec<u8>,
    /// Its media type.
    pub media_type: String,
}

/// A failure inside a [`Remote`], kept whole so callers can downcast it to the
/// implementation's own error type.
pub type RemoteError = Box<dyn std::error::Error + Send + Sync>;

/// A source of registry images.
pub trait Remote: Send + Sync + fmt::Debug {
    /// Resolves `reference` to the image manifest for `platform`, with every digest checked.
    fn resolve(
        &self,
        reference: &Reference,
        platform: &Platform,
    ) -> Result<ResolvedManifest, RemoteError>;

    /// Streams the blob `desc` of `reference`'s repository. The stream fails at its end
    /// unless the bytes match the descriptor's size and digest.
    fn open_blob(
        &self,
        reference: &Reference,
        desc: &Descriptor,
    ) -> Result<Box<dyn Read + Send>, RemoteError>;
}
