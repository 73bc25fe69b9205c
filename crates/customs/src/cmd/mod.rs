//! One module per subcommand.

pub mod attest;
pub mod audit;
pub mod blob;
pub mod cache;
pub mod check;
pub mod copy;
pub mod db;
pub mod db_artifact;
pub mod diff;
pub mod format;
pub mod image_args;
pub mod inspect;
pub mod key;
pub mod lint;
pub mod pin;
pub mod registry;
pub mod report;
pub mod sbom;
pub mod scan;
pub mod serve;
pub mod sign;
pub mod supply_chain;
pub mod verify;
pub mod verify_bundle;
pub mod vuln_args;
