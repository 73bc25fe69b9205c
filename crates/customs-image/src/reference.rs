//! (placeholder: image references; owned by the registry work)
