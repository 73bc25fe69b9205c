//! The error an extractor returns when a file cannot be read as what it claims to be.

/// Why one file gave no packages. The image scan turns it into a [`crate::package::Warning`]
/// that names the path and layer, and goes on.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The bytes are not a valid instance of the format.
    #[error("malformed {format}: {reason}")]
    Malformed {
        /// The format the file claimed to be (`dpkg status`, `package.json`, ...).
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A size, count or depth limit was hit (decompression bombs, deep nesting).
    #[error("limit exceeded in {format}: {reason}")]
    Limit {
        /// The format being read.
        format: &'static str,
        /// Which limit, and the value met.
        reason: String,
    },
}

impl ExtractError {
    /// A [`ExtractError::Malformed`].
    pub fn malformed(format: &'static str, reason: impl Into<String>) -> Self {
        ExtractError::Malformed {
            format,
            reason: reason.into(),
        }
    }
    /// A [`ExtractError::Limit`].
    pub fn limit(format: &'static str, reason: impl Into<String>) -> Self {
        ExtractError::Limit {
            format,
            reason: reason.into(),
        }
    }
}
