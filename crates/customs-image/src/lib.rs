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

pub mod archive;
pub mod cache;
pub mod copy;
pub mod digest;
pub mod dir;
pub mod engine;
pub mod fs;
pub mod image;
pub mod layer;
pub mod manifest;
pub mod observe;
pub mod reference;
pub mod remote;
pub mod storage;
pub mod summary;
pub mod tar;

pub use cache::LayerCache;
pub use digest::Digest;
pub use fs::{walk_layer, EntryMeta, FileSystem, Node};
pub use image::{Image, ImageError, ImageSource, Layer, OpenOptions};
pub use manifest::{Descriptor, ImageConfig, Index, Manifest, ManifestKind, Platform};
pub use observe::{observe_entry, walk_layer_observed, EntryObserver};
pub use reference::{Reference, Target};
pub use remote::{Remote, RemoteError, ResolvedManifest};
