//! (placeholder: owned by the yarn extractor work)
