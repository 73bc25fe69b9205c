//! (placeholder: owned by the golang extractor work)
