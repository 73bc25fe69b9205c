//! customs-image reads container images: it parses references, opens docker and OCI
//! archives and OCI layout directories, verifies every digest while bytes stream, and
//! builds the layered filesystem view. Directories (`dir:`, `rootfs:`) are read as images
//! of one layer. It knows nothing of packages, and speaks no HTTP:
//! registry images are opened through a [`Remote`], which `customs-registry` provides.
//!
//! ```no_run
//! use customs_image::{Image, OpenOptions};
//! let image = Image::open_str("oci-archive:image.tar", &OpenOptions::default())?;
//! let (fs, _layers) = customs_image::summary::filesystem(&image, None)?;
//! println!("{} has {} paths", image.name, fs.len());
//! # Ok::<(), customs_image::ImageError>(())
//! ```
#![deny(missing_docs)]
#![warn(unnameable_types)]

pub mod archive;
pub mod cache;
pub mod copy;
pub mod digest;
mod dir;
mod engine;
pub mod fs;
mod image;
pub mod layer;
pub mod manifest;
mod observe;
pub mod reference;
mod remote;
mod storage;
pub mod summary;
pub mod tar;

pub use cache::LayerCache;
pub use digest::Digest;
pub use dir::DirKind;
pub use engine::{Engine, EngineError};
pub use fs::{walk_layer, EntryMeta, FileSystem, Node};
pub use image::{Image, ImageError, ImageSource, Layer, OpenOptions, ProgressHook};
pub use manifest::{Descriptor, ImageConfig, Index, Manifest, ManifestKind, Platform};
pub use observe::{observe_entry, walk_layer_observed, Both, EntryObserver};
pub use reference::{Reference, Target};
pub use remote::{Remote, RemoteError, ResolvedManifest};
