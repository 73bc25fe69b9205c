//! (placeholder: the Distribution API v2 client)
