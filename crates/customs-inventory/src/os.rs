//! (placeholder: owned by the os extractor work)
