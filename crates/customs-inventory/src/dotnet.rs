//! (placeholder: owned by the dotnet extractor work)
