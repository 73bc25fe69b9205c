//! The OCI error body (`{"errors":[{"code","message","detail"}]}`) and the HTTP status each
//! code carries (OCI Distribution Spec, "Error Codes").

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Response, StatusCode};

use crate::http::Body;

/// One OCI error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
}

impl Code {
    fn name(self) -> &'static str {
        match self {
            Code::BlobUnknown => "BLOB_UNKNOWN",
            Code::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Code::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Code::DigestInvalid => "DIGEST_INVALID",
            Code::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Code::ManifestInvalid => "MANIFEST_INVALID",
            Code::ManifestUnknown => "MANIFEST_UNKNOWN",
            Code::NameInvalid => "NAME_INVALID",
            Code::NameUnknown => "NAME_UNKNOWN",
            Code::SizeInvalid => "SIZE_INVALID",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::Denied => "DENIED",
            Code::Unsupported => "UNSUPPORTED",
            Code::TooManyRequests => "TOOMANYREQUESTS",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Code::BlobUnknown
            | Code::BlobUploadUnknown
            | Code::ManifestUnknown
            | Code::NameUnknown => StatusCode::NOT_FOUND,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Denied => StatusCode::FORBIDDEN,
            Code::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            Code::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error answer: a status, one OCI error, and headers to add.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: Code,
    pub message: String,
    pub detail: Option<serde_json::Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            status: code.status(),
            code,
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub fn status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> ApiError {
        self.detail = Some(detail);
        self
    }

    pub fn header(mut self, name: &'static str, value: String) -> ApiError {
        self.headers.push((name, value));
        self
    }

    /// A storage or database failure: a clean 500 that names no path to the client.
    pub fn internal(e: std::io::Error) -> ApiError {
        log::error!("internal error: {e}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: Code::Unsupported,
            message: "internal storage error; the request can be retried".into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub fn into_response(self, head: bool) -> Response<Body> {
        let mut err = serde_json::json!({"code": self.code.name(), "message": self.message});
        if let Some(d) = self.detail {
            err["detail"] = d;
        }
        let body = serde_json::to_vec(&serde_json::json!({ "errors": [err] })).unwrap_or_default();
        let mut b = Response::builder()
            .status(self.status)
            .header("Content-Type", "application/json")
            .header("Content-Length", body.len());
        for (k, v) in self.headers {
            b = b.header(k, v);
        }
        let body = if head {
            Bytes::new()
        } else {
            Bytes::from(body)
        };
        b.body(
            http_body_util::Full::new(body)
                .map_err(|never| match never {})
                .boxed(),
        )
        .unwrap_or_else(|_| Response::new(crate::http::empty()))
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> ApiError {
        ApiError::internal(e)
    }
}
