//! (placeholder: owned by the php extractor work)
