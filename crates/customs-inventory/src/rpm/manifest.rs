//! CBL-Mariner / Azure Linux distroless images list their rpms in
//! `var/lib/rpmmanifest/container-manifest-2` instead of an rpm database: one package per
//! line, tab-separated `NAME VERSION-RELEASE INSTALLTIME BUILDTIME VENDOR EPOCH SIZE ARCH
//! EPOCHNUM SOURCERPM` (the `rpm -qa --qf` format the image build uses).

use crate::ExtractError;

/// One line of the manifest, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestEntry<'a> {
    /// The package name.
    pub name: &'a str,
    /// `VERSION-RELEASE`, without epoch.
    pub version_release: &'a str,
    /// `None` when the EPOCH column is `(none)`; otherwise the numeric EPOCHNUM column.
    pub epoch: Option<&'a str>,
    /// The architecture column.
    pub arch: &'a str,
    /// The source rpm file name column.
    pub source_rpm: &'a str,
}

/// Parses every well-formed line; lines with fewer than ten columns (a truncated file) are
/// skipped. A NUL byte means the file is not a text manifest.
pub fn parse(data: &[u8]) -> Result<Vec<ManifestEntry<'_>>, ExtractError> {
    if data.contains(&0) {
        return Err(ExtractError::malformed(
            "rpm manifest",
            "binary data (NUL byte)",
        ));
    }
    let text = std::str::from_utf8(data)
        .map_err(|_| ExtractError::malformed("rpm manifest", "not UTF-8"))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let mut cols = [""; 10];
        let mut n = 0;
        for (slot, col) in cols.iter_mut().zip(line.trim_end_matches('\r').split('\t')) {
            *slot = col;
            n += 1;
        }
        let [name, version_release, _, _, _, epoch, _, arch, epoch_num, source_rpm] = cols;
        if n < cols.len() || name.is_empty() || version_release.is_empty() {
            continue;
        }
        let epoch = match epoch {
            "(none)" | "" => None,
            _ if !epoch_num.is_empty() && epoch_num.bytes().all(|b| b.is_ascii_digit()) => {
                Some(epoch_num)
            }
            e => Some(e),
        };
        out.push(ManifestEntry {
            name,
            version_release,
            epoch,
            arch,
            source_rpm,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_comes_from_epochnum_column_not_size() {
        let line = b"vim\t9.0-1.cm2\t1\t2\tMicrosoft Corporation\t2\t45000\tx86_64\t2\tvim-9.0-1.cm2.src.rpm\n";
        let e = parse(line).unwrap();
        assert_eq!(e[0].epoch, Some("2"));
        assert_eq!(e[0].version_release, "9.0-1.cm2");
    }

    #[test]
    fn none_epoch_is_absent_and_short_lines_are_skipped() {
        let data = b"a\t1-1\t1\t2\tV\t(none)\t5\tnoarch\t0\ta-1-1.src.rpm\nb\t1-1\t1\n";
        let e = parse(data).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].epoch, None);
    }
}
