//! One module per subcommand.

pub mod cache;
pub mod copy;
pub mod db;
pub mod image_args;
pub mod inspect;
pub mod sbom;
pub mod scan;
