//! customs-image reads container images: it parses references, opens registries, docker and
//! OCI archives and OCI layout directories, verifies every digest while bytes stream, and
//! builds the layered filesystem view. It knows nothing of packages.
