//! customs-image reads container images: it parses references, opens registries, docker and
//! OCI archives and OCI layout directories, verifies every digest while bytes stream, and
//! builds the layered filesystem view. It knows nothing of packages.

pub mod digest;
pub mod fs;
pub mod layer;
pub mod manifest;
pub mod reference;
pub mod registry;
pub mod tar;

pub use digest::Digest;
pub use fs::{walk_layer, EntryMeta, FileSystem, Node};
pub use manifest::{Descriptor, ImageConfig, Index, Manifest, ManifestKind, Platform};
