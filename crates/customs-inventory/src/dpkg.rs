//! (placeholder: owned by the dpkg extractor work)
