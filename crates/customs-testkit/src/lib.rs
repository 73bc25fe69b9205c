//! customs-testkit holds what several crates' tests share: a real Debian `docker-registry` on
//! 127.0.0.1 in each authentication mode, with skopeo helpers and a fault-injecting proxy
//! ([`registry`]), single-layer OCI layouts written from hand-made tar bytes ([`oci`]), and a
//! counting allocator for memory tests ([`alloc`]).
//! It is a dev-dependency only; nothing here ships in the binary.
#![deny(missing_docs)]
#![warn(unnameable_types)]

pub mod alloc;
pub mod oci;
pub mod ocibuild;
pub mod registry;
