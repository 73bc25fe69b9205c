//! (placeholder: owned by the python extractor work)
