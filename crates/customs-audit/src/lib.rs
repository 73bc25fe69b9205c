//! customs-audit checks an image against container best practice: least privilege, secrets,
//! minimal layers, immutability and trusted bases. Each rule has a stable id.
