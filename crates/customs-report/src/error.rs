//! The one error type of customs-report.

use thiserror::Error;

#[derive(Debug, Error)]
/// Why a document could not be rendered.
pub enum ReportError {
    /// `SOURCE_DATE_EPOCH` (or another timestamp input) is not a usable number of seconds.
    #[error("invalid timestamp {value:?}: {reason}")]
    InvalidTimestamp {
        /// The text or number given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Serialising a document failed.
    #[error("cannot serialise {format} document: {source}")]
    Serialise {
        /// Which format was being written.
        format: &'static str,
        #[source]
        /// The serializer's error.
        source: serde_json::Error,
    },
}
