//! (placeholder: owned by the apk extractor work)
