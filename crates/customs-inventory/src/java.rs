//! (placeholder: owned by the java extractor work)
