//! Debian package licences from `/usr/share/doc/PKG/copyright`.
//!
//! A machine-readable file (DEP-5, its first paragraph has a `Format:` field) declares its
//! licences in `License:` fields: every licence name of every synopsis is reported
//! (`GPL-2+ or Artistic-2.0` gives `GPL-2+` and `Artistic-2.0`; a `with … exception` clause
//! is left out). A plain file declares nothing machine-readable, so only what can be named
//! with confidence is reported: the licences whose text it points to in
//! `/usr/share/common-licenses/` (Debian's own list of licence files).

use std::collections::BTreeSet;

/// Prefix of the per-package documentation directories.
const DOC: &str = "usr/share/doc/";
/// Where Debian keeps the licence texts plain copyright files point to.
const COMMON_LICENSES: &str = "/usr/share/common-licenses/";
/// The files of `/usr/share/common-licenses` (base-files in Debian 12); a reference to any
/// other name is not taken as a licence.
const COMMON_LICENSE_NAMES: &[&str] = &[
    "Apache-2.0",
    "Artistic",
    "BSD",
    "CC0-1.0",
    "GFDL",
    "GFDL-1.2",
    "GFDL-1.3",
    "GPL",
    "GPL-1",
    "GPL-2",
    "GPL-3",
    "LGPL",
    "LGPL-2",
    "LGPL-2.1",
    "LGPL-3",
    "MPL-1.1",
    "MPL-2.0",
];
/// Largest copyright file read; real ones are well under 1 MiB.
pub const MAX_COPYRIGHT_BYTES: u64 = 4 << 20;
/// Most licence names reported for one file.
const MAX_LICENSES: usize = 256;
/// Longest licence name kept.
const MAX_NAME: usize = 128;

/// Whether `path` (relative to the image root) is a package's copyright file,
/// `usr/share/doc/PKG/copyright`.
pub fn matches(path: &str) -> bool {
    doc_package(path).is_some()
}

/// The directory name (normally the package name) of a copyright file's path.
pub fn doc_package(path: &str) -> Option<&str> {
    let pkg = path.strip_prefix(DOC)?.strip_suffix("/copyright")?;
    (!pkg.is_empty() && !pkg.contains('/')).then_some(pkg)
}

/// The path of the copyright file of package `name`.
pub fn path_for(name: &str) -> String {
    format!("{DOC}{name}/copyright")
}

/// Whether the file is machine-readable: its first paragraph has a `Format:` field.
pub fn is_machine_readable(data: &[u8]) -> bool {
    for line in data.split(|&b| b == b'\n') {
        let line = trim_cr(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return false; // end of the first paragraph
        }
        if line.first() == Some(&b'#') {
            continue;
        }
        if field_value(line, b"format").is_some() {
            return true;
        }
    }
    false
}

/// The licences a copyright file declares, sorted and without duplicates; empty when none
/// can be named. Never fails: any bytes give a (possibly empty) list.
pub fn parse(data: &[u8]) -> Vec<String> {
    let mut out = BTreeSet::new();
    if is_machine_readable(data) {
        for line in data.split(|&b| b == b'\n') {
            // Continuation lines start with a space or tab and never hold a field.
            if let Some(v) = field_value(trim_cr(line), b"license") {
                for name in synopsis_names(&String::from_utf8_lossy(v)) {
                    if out.len() >= MAX_LICENSES {
                        break;
                    }
                    out.insert(name);
                }
            }
        }
    } else {
        let text = String::from_utf8_lossy(data);
        for (i, _) in text.match_indices(COMMON_LICENSES) {
            let rest = &text[i + COMMON_LICENSES.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
                .unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches('.');
            if let Some(known) = COMMON_LICENSE_NAMES.iter().find(|n| **n == name) {
                out.insert((*known).to_string());
            }
        }
    }
    out.into_iter().collect()
}

/// The value of field `name` (lower case) on a field line (`Name: value`, name matched
/// without regard to case), trimmed; `None` for other lines and continuation lines.
fn field_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (key, rest) = line.split_at(colon);
    if !key.eq_ignore_ascii_case(name) {
        return None;
    }
    Some(rest[1..].trim_ascii())
}

/// The licence names of a DEP-5 licence synopsis: names joined by `or` / `and` (and commas
/// before them), optional parentheses, and `with NAME exception` clauses that qualify the
/// name before them and are dropped.
/// A synopsis that is prose instead (two names with no operator between them, as in
/// `License: The GNU General Public License`) names nothing with confidence: empty.
fn synopsis_names(synopsis: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_exception = false;
    let mut want_name = true;
    for token in synopsis.split_ascii_whitespace() {
        let token = token.trim_matches(|c| matches!(c, '(' | ')' | ','));
        let lower = token.to_ascii_lowercase();
        match lower.as_str() {
            "" => {}
            "or" | "and" => {
                in_exception = false;
                want_name = true;
            }
            "with" => in_exception = true,
            _ if in_exception => {}
            _ if !want_name || token.len() > MAX_NAME => return Vec::new(),
            _ => {
                want_name = false;
                if lower != "none" {
                    out.push(token.to_string());
                }
            }
        }
    }
    out
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_paths() {
        assert_eq!(doc_package("usr/share/doc/bash/copyright"), Some("bash"));
        assert_eq!(doc_package("usr/share/doc/bash/x/copyright"), None);
        assert_eq!(doc_package("usr/share/doc//copyright"), None);
        assert_eq!(doc_package("usr/share/doc/bash/copyright.gz"), None);
        assert_eq!(path_for("zlib1g"), "usr/share/doc/zlib1g/copyright");
    }

    #[test]
    fn dep5_fields_give_every_name_of_every_synopsis() {
        let f = b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: x\n\nFiles: *\nCopyright: me\nLicense: GPL-2+ or Artistic-2.0\n\n\
Files: lib/*\nCopyright: you\nlicense: LGPL-2.1+ with OpenSSL exception\n \
License: not-a-field-on-a-continuation\n\n\
License: GPL-2+\n This program is free software; see /usr/share/common-licenses/GPL-2\n\n\
Files: a\nCopyright: x\nLicense: (MIT, and BSD-3-clause) or public-domain\n";
        assert_eq!(
            parse(f),
            [
                "Artistic-2.0",
                "BSD-3-clause",
                "GPL-2+",
                "LGPL-2.1+",
                "MIT",
                "public-domain"
            ]
        );
    }

    #[test]
    fn prose_synopsis_names_nothing() {
        let f = b"Format: x\n\nFiles: *\nLicense: The GNU General Public License\n\n\
Files: b\nLicense: MIT\n";
        assert_eq!(parse(f), ["MIT"]);
    }

    #[test]
    fn plain_file_only_names_common_licence_references() {
        let f = b"This is Debian's prepackaged foo.\n\nIt is under the GPL, see\n\
`/usr/share/common-licenses/GPL-3'.\nAlso /usr/share/common-licenses/LGPL-2.1.\n\
And /usr/share/common-licenses/Made-Up and License: MIT (not a field here).\n";
        assert!(!is_machine_readable(f));
        assert_eq!(parse(f), ["GPL-3", "LGPL-2.1"]);
    }

    #[test]
    fn plain_file_without_reference_gives_nothing() {
        assert!(parse(b"Copyright 1999 someone. All rights reserved.\n").is_empty());
        assert!(parse(b"").is_empty());
        assert!(parse(&[0xff, 0xfe, b'\n', b':', 0]).is_empty());
    }

    #[test]
    fn format_after_the_first_paragraph_is_not_machine_readable() {
        let f = b"Some text\n\nFormat: x\nLicense: MIT\n";
        assert!(!is_machine_readable(f));
        assert!(parse(f).is_empty());
    }
}
