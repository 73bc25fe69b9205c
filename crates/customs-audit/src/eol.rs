//! The embedded end-of-life table: for each distribution release, the day free security
//! updates stop, with the endoflife.date page the date was taken from. Releases not in the
//! table are never reported (too new to be listed, or unknown).
//!
//! The date is the end of *free* security support: Debian includes Debian LTS (run by the
//! Debian project, free); Ubuntu uses the end of standard support (ESM needs Ubuntu Pro);
//! RHEL and its rebuilds use the end of maintenance support.

use customs_inventory::OsInfo;

/// One release's end of life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EolEntry {
    /// `ID` from os-release (`alpine`, `debian`, `amzn`, ...).
    pub family: &'static str,
    /// The release cycle: `VERSION_ID` equals it or starts with it and a dot (`3.10` matches
    /// `3.10.4`).
    pub cycle: &'static str,
    /// Last day of free security support, `YYYY-MM-DD`.
    pub eol: &'static str,
    /// Where the date comes from.
    pub source: &'static str,
}

const ALPINE: &str = "https://endoflife.date/alpine-linux";
const DEBIAN: &str = "https://endoflife.date/debian";
const UBUNTU: &str = "https://endoflife.date/ubuntu";
const RHEL: &str = "https://endoflife.date/rhel";
const ROCKY: &str = "https://endoflife.date/rocky-linux";
const ALMA: &str = "https://endoflife.date/almalinux";
const CENTOS: &str = "https://endoflife.date/centos";
const FEDORA: &str = "https://endoflife.date/fedora";
const AMAZON: &str = "https://endoflife.date/amazon-linux";

macro_rules! table {
    ($($family:literal $source:ident [$($cycle:literal => $eol:literal),* $(,)?])*) => {
        /// Every known release.
        pub const TABLE: &[EolEntry] = &[
            $($(EolEntry { family: $family, cycle: $cycle, eol: $eol, source: $source },)*)*
        ];
    };
}

table! {
    "alpine" ALPINE [
        "3.0" => "2016-05-01", "3.1" => "2016-11-01", "3.2" => "2017-05-01",
        "3.3" => "2017-11-01", "3.4" => "2018-05-01", "3.5" => "2018-11-01",
        "3.6" => "2019-05-01", "3.7" => "2019-11-01", "3.8" => "2020-05-01",
        "3.9" => "2020-11-01", "3.10" => "2021-05-01", "3.11" => "2021-11-01",
        "3.12" => "2022-05-01", "3.13" => "2022-11-01", "3.14" => "2023-05-01",
        "3.15" => "2023-11-01", "3.16" => "2024-05-23", "3.17" => "2024-11-22",
        "3.18" => "2025-05-09", "3.19" => "2025-11-01", "3.20" => "2026-04-01",
        "3.21" => "2026-11-01", "3.22" => "2027-05-01",
    ]
    "debian" DEBIAN [
        "6" => "2016-02-29", "7" => "2018-05-31", "8" => "2020-06-30",
        "9" => "2022-06-30", "10" => "2024-06-30", "11" => "2026-08-31",
        "12" => "2028-06-30", "13" => "2030-06-30",
    ]
    "ubuntu" UBUNTU [
        "12.04" => "2017-04-28", "14.04" => "2019-04-25", "16.04" => "2021-04-30",
        "18.04" => "2023-05-31", "19.04" => "2020-01-23", "19.10" => "2020-07-17",
        "20.04" => "2025-05-29", "20.10" => "2021-07-22", "21.04" => "2022-01-20",
        "21.10" => "2022-07-14", "22.04" => "2027-06-01", "22.10" => "2023-07-20",
        "23.04" => "2024-01-25", "23.10" => "2024-07-11", "24.04" => "2029-05-31",
        "24.10" => "2025-07-10",
    ]
    "rhel" RHEL [
        "6" => "2020-11-30", "7" => "2024-06-30", "8" => "2029-05-31", "9" => "2032-05-31",
    ]
    "rocky" ROCKY [
        "8" => "2029-05-31", "9" => "2032-05-31",
    ]
    "almalinux" ALMA [
        "8" => "2029-03-01", "9" => "2032-05-31",
    ]
    "centos" CENTOS [
        "5" => "2017-03-31", "6" => "2020-11-30", "7" => "2024-06-30", "8" => "2021-12-31",
    ]
    "fedora" FEDORA [
        "30" => "2020-05-26", "31" => "2020-11-24", "32" => "2021-05-25",
        "33" => "2021-11-30", "34" => "2022-06-07", "35" => "2022-12-13",
        "36" => "2023-05-16", "37" => "2023-12-05", "38" => "2024-05-21",
        "39" => "2024-11-26", "40" => "2025-05-13",
    ]
    "amzn" AMAZON [
        "2018.03" => "2023-12-31", "2" => "2026-06-30", "2023" => "2029-06-30",
    ]
}

/// The table entry for an OS release, if the table knows it.
pub fn lookup(os: &OsInfo) -> Option<&'static EolEntry> {
    let version = os.version.trim();
    if version.is_empty() {
        return None;
    }
    TABLE.iter().find(|e| {
        e.family == os.family
            && (version == e.cycle
                || version
                    .strip_prefix(e.cycle)
                    .is_some_and(|rest| rest.starts_with('.')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(family: &str, version: &str) -> OsInfo {
        OsInfo {
            family: family.into(),
            version: version.into(),
            ..OsInfo::default()
        }
    }

    #[test]
    fn point_releases_match_their_cycle_only() {
        assert_eq!(lookup(&os("alpine", "3.10.4")).unwrap().eol, "2021-05-01");
        assert_eq!(lookup(&os("alpine", "3.1.0")).unwrap().cycle, "3.1");
        assert_eq!(lookup(&os("debian", "12")).unwrap().eol, "2028-06-30");
        assert!(lookup(&os("alpine", "3.99.0")).is_none());
        assert!(lookup(&os("wolfi", "20230201")).is_none());
    }

    #[test]
    fn every_entry_has_a_valid_date_and_source() {
        for e in TABLE {
            assert!(crate::time::parse_date(e.eol).is_some(), "{e:?}");
            assert!(e.source.starts_with("https://endoflife.date/"));
        }
    }
}
