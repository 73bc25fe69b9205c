//! (placeholder: owned by the rpm extractor work)
