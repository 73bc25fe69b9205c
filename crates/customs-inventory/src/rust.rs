//! (placeholder: owned by the rust extractor work)
