//! One module per subcommand.

pub mod cache;
pub mod image_args;
pub mod inspect;
pub mod sbom;
