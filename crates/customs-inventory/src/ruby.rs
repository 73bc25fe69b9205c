//! (placeholder: owned by the ruby extractor work)
