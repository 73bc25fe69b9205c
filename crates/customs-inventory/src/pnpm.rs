//! (placeholder: owned by the pnpm extractor work)
