//! customs-testkit holds what several crates' tests share: a real Debian `docker-registry` on
//! 127.0.0.1 in each authentication mode, with skopeo helpers and a fault-injecting proxy
//! ([`registry`]), and single-layer OCI layouts written from hand-made tar bytes ([`oci`]).
//! It is a dev-dependency only; nothing here ships in the binary.
#![deny(missing_docs)]
#![warn(unnameable_types)]

pub mod oci;
pub mod ocibuild;
pub mod registry;
