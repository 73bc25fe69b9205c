//! The one error type of customs-report.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    /// `SOURCE_DATE_EPOCH` (or another timestamp input) is not a usable number of seconds.
    #[error("invalid timestamp {value:?}: {reason}")]
    InvalidTimestamp { value: String, reason: &'static str },
    /// Serialising a document failed.
    #[error("cannot serialise {format} document: {source}")]
    Serialise {
        format: &'static str,
        #[source]
        source: serde_json::Error,
    },
}
