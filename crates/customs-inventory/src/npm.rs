//! (placeholder: owned by the npm extractor work)
