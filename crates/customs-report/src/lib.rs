//! customs-report renders inventories and findings: table, JSON, SARIF 2.1.0, CycloneDX 1.6 and
//! SPDX 2.3. It formats; it never reads images or advisories.
