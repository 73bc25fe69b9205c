//! What changed between two images (`customs diff A B`): packages added, removed and changed
//! version; findings fixed and introduced; files added, removed and changed, with sizes; and
//! config changes. It compares what the binary gathered from both images (inventories,
//! findings, merged file trees, config changes already masked) and renders the result as a
//! table or a `customs.diff` JSON document (`docs/diff.md`); the HTML report shows the same
//! [`ImageDiff`] as one of its sections.
//!
//! Packages are compared by (ecosystem, name): a name on both sides whose set of versions
//! differs is a version change; a name on one side only is added or removed. Findings are
//! compared by (advisory id, ecosystem, package name), so a vulnerability that survives a
//! version bump is neither fixed nor introduced.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use customs_inventory::Inventory;
use customs_vulndb::{Finding, Severity};
use serde::Serialize;

use crate::{DocumentInfo, ReportError, Subject, TOOL_NAME};

/// One path of an image's merged filesystem, as the diff compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo` or `other`.
    pub kind: &'static str,
    /// Size in bytes (regular files; 0 otherwise).
    pub size: u64,
    /// Permission and type bits as the tar header gives them.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// SHA-256 of a regular file's contents (hex), when it was computed.
    pub sha256: Option<String>,
    /// Symlink or hardlink target.
    pub link: Option<String>,
}

/// One image as the diff sees it.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The image.
    pub subject: &'a Subject,
    /// Its packages.
    pub inventory: &'a Inventory,
    /// Its findings, when a database was available.
    pub findings: Option<&'a [Finding]>,
    /// Its merged filesystem, by path without a leading `/`.
    pub files: &'a BTreeMap<String, FileFacts>,
}

/// A config field that differs, with both values already masked by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigChange {
    /// `user`, `env.NAME`, `entrypoint`, `cmd`, `working_dir`, `ports`, `label.KEY`, …
    pub field: String,
    /// The value in the old image; absent when the field was not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The value in the new image; absent when the field is not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// The two images named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffSubject {
    /// Name as given.
    pub name: String,
    /// Manifest digest, or the config digest where the image has no manifest of its own.
    pub digest: String,
}

/// A package on one side only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PackageRef {
    /// OSV ecosystem (`Alpine`, `npm`).
    pub ecosystem: String,
    /// Package name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// A package whose installed versions differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionChange {
    /// OSV ecosystem.
    pub ecosystem: String,
    /// Package name.
    pub name: String,
    /// Versions in the old image, sorted (usually one).
    pub old: Vec<String>,
    /// Versions in the new image, sorted.
    pub new: Vec<String>,
}

/// Package changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackageChanges {
    /// Packages only the new image has.
    pub added: Vec<PackageRef>,
    /// Packages only the old image has.
    pub removed: Vec<PackageRef>,
    /// Packages on both sides with different versions.
    pub changed: Vec<VersionChange>,
    /// Packages with the same versions on both sides.
    pub unchanged: usize,
}

/// One finding on one side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRef {
    /// Advisory id.
    pub id: String,
    /// Its aliases.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `CRITICAL` … `UNKNOWN`.
    pub severity: &'static str,
    /// OSV ecosystem of the package.
    pub ecosystem: String,
    /// Package name.
    pub package: String,
    /// The package version on that side.
    pub version: String,
    /// Versions that fix it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    /// In CISA's KEV catalogue.
    pub kev: bool,
    /// EPSS score, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<f64>,
    #[serde(skip)]
    rank: Severity,
}

/// Finding changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FindingChanges {
    /// Findings of the old image that the new one no longer has.
    pub fixed: Vec<FindingRef>,
    /// Findings only the new image has.
    pub introduced: Vec<FindingRef>,
    /// Findings on both sides.
    pub unchanged: usize,
}

/// A path on one side only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    /// Path, without a leading `/`.
    pub path: String,
    /// `file`, `dir`, `symlink`, …
    pub kind: &'static str,
    /// Size in bytes.
    pub size: u64,
}

/// A path on both sides that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Path, without a leading `/`.
    pub path: String,
    /// Kind in the new image.
    pub kind: &'static str,
    /// Size in the old image.
    pub old_size: u64,
    /// Size in the new image.
    pub new_size: u64,
    /// What differs: `kind`, `content`, `mode`, `owner`, `link`.
    pub what: Vec<&'static str>,
}

/// File changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileChanges {
    /// Paths only the new image has.
    pub added: Vec<FileRef>,
    /// Paths only the old image has.
    pub removed: Vec<FileRef>,
    /// Paths on both sides that differ.
    pub changed: Vec<FileChange>,
    /// Paths identical on both sides.
    pub unchanged: usize,
    /// Bytes of regular files in the old image.
    pub old_bytes: u64,
    /// Bytes of regular files in the new image.
    pub new_bytes: u64,
}

/// Everything that changed from `old` to `new`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageDiff {
    /// The image compared from.
    pub old: DiffSubject,
    /// The image compared to.
    pub new: DiffSubject,
    /// Package changes.
    pub packages: PackageChanges,
    /// Finding changes; absent when no database was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<FindingChanges>,
    /// File changes.
    pub files: FileChanges,
    /// Config changes, values masked.
    pub config: Vec<ConfigChange>,
}

fn subject(s: &Subject) -> DiffSubject {
    DiffSubject {
        name: s.name.clone(),
        digest: s.digest().to_string(),
    }
}

/// Compares two images. `config` is the list of config changes the caller computed (it masks
/// secrets, which this crate does not know how to find).
pub fn diff(old: &Side<'_>, new: &Side<'_>, config: Vec<ConfigChange>) -> ImageDiff {
    let findings = match (old.findings, new.findings) {
        (Some(a), Some(b)) => Some(findings(a, b)),
        _ => None,
    };
    ImageDiff {
        old: subject(old.subject),
        new: subject(new.subject),
        packages: packages(old.inventory, new.inventory),
        findings,
        files: files(old.files, new.files),
        config,
    }
}

type Versions = BTreeMap<(String, String), BTreeSet<String>>;

fn versions(inv: &Inventory) -> Versions {
    let mut out: Versions = BTreeMap::new();
    for p in &inv.packages {
        out.entry((p.ecosystem.to_string(), p.name.clone()))
            .or_default()
            .insert(p.version.clone());
    }
    out
}

fn packages(old: &Inventory, new: &Inventory) -> PackageChanges {
    let (a, b) = (versions(old), versions(new));
    let mut out = PackageChanges::default();
    let refs = |(eco, name): &(String, String), vs: &BTreeSet<String>| -> Vec<PackageRef> {
        vs.iter()
            .map(|v| PackageRef {
                ecosystem: eco.clone(),
                name: name.clone(),
                version: v.clone(),
            })
            .collect()
    };
    for (key, va) in &a {
        match b.get(key) {
            None => out.removed.extend(refs(key, va)),
            Some(vb) if vb == va => out.unchanged += va.len(),
            Some(vb) => out.changed.push(VersionChange {
                ecosystem: key.0.clone(),
                name: key.1.clone(),
                old: va.iter().cloned().collect(),
                new: vb.iter().cloned().collect(),
            }),
        }
    }
    for (key, vb) in &b {
        if !a.contains_key(key) {
            out.added.extend(refs(key, vb));
        }
    }
    out
}

type FindingKey = (String, String, String);

fn finding_key(f: &Finding) -> FindingKey {
    (
        f.id.clone(),
        f.package.ecosystem.to_string(),
        f.package.name.clone(),
    )
}

fn finding_ref(f: &Finding) -> FindingRef {
    FindingRef {
        id: f.id.clone(),
        aliases: f.aliases.clone(),
        severity: f.severity.as_str(),
        ecosystem: f.package.ecosystem.to_string(),
        package: f.package.name.clone(),
        version: f.package.version.clone(),
        fixed_versions: f.fixed_versions.clone(),
        kev: f.kev.is_some(),
        epss: f.epss.as_ref().map(|e| e.score).filter(|s| s.is_finite()),
        rank: f.severity,
    }
}

/// Highest severity first, then id, package and version.
fn by_severity(list: &mut [FindingRef]) {
    list.sort_by(|x, y| {
        y.rank
            .cmp(&x.rank)
            .then_with(|| x.id.cmp(&y.id))
            .then_with(|| (&x.ecosystem, &x.package).cmp(&(&y.ecosystem, &y.package)))
            .then_with(|| x.version.cmp(&y.version))
    });
}

fn findings(old: &[Finding], new: &[Finding]) -> FindingChanges {
    let a: BTreeSet<FindingKey> = old.iter().map(finding_key).collect();
    let b: BTreeSet<FindingKey> = new.iter().map(finding_key).collect();
    let mut fixed: Vec<FindingRef> = old
        .iter()
        .filter(|f| !b.contains(&finding_key(f)))
        .map(finding_ref)
        .collect();
    let mut introduced: Vec<FindingRef> = new
        .iter()
        .filter(|f| !a.contains(&finding_key(f)))
        .map(finding_ref)
        .collect();
    by_severity(&mut fixed);
    by_severity(&mut introduced);
    fixed.dedup();
    introduced.dedup();
    FindingChanges {
        fixed,
        introduced,
        unchanged: a.intersection(&b).count(),
    }
}

fn files(old: &BTreeMap<String, FileFacts>, new: &BTreeMap<String, FileFacts>) -> FileChanges {
    let mut out = FileChanges {
        old_bytes: old
            .values()
            .filter(|f| f.kind == "file")
            .map(|f| f.size)
            .sum(),
        new_bytes: new
            .values()
            .filter(|f| f.kind == "file")
            .map(|f| f.size)
            .sum(),
        ..FileChanges::default()
    };
    for (path, a) in old {
        let Some(b) = new.get(path) else {
            out.removed.push(FileRef {
                path: path.clone(),
                kind: a.kind,
                size: a.size,
            });
            continue;
        };
        let mut what = Vec::new();
        if a.kind != b.kind {
            what.push("kind");
        } else if a.kind == "file" && (a.size != b.size || a.sha256 != b.sha256) {
            what.push("content");
        }
        if a.link != b.link && a.kind == b.kind {
            what.push("link");
        }
        if a.mode & 0o7777 != b.mode & 0o7777 {
            what.push("mode");
        }
        if (a.uid, a.gid) != (b.uid, b.gid) {
            what.push("owner");
        }
        if what.is_empty() {
            out.unchanged += 1;
        } else {
            out.changed.push(FileChange {
                path: path.clone(),
                kind: b.kind,
                old_size: a.size,
                new_size: b.size,
                what,
            });
        }
    }
    for (path, b) in new {
        if !old.contains_key(path) {
            out.added.push(FileRef {
                path: path.clone(),
                kind: b.kind,
                size: b.size,
            });
        }
    }
    out
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    kind: &'static str,
    tool: Tool<'a>,
    created: String,
    #[serde(flatten)]
    diff: &'a ImageDiff,
}

/// The diff as a `customs.diff` JSON document.
pub fn json(diff: &ImageDiff, info: &DocumentInfo) -> Result<String, ReportError> {
    let doc = Document {
        schema_version: crate::json::SCHEMA_VERSION,
        kind: "customs.diff",
        tool: Tool {
            name: TOOL_NAME,
            version: &info.tool_version,
        },
        created: info.created.rfc3339(),
        diff,
    };
    let mut out = serde_json::to_string_pretty(&doc).map_err(|source| ReportError::Serialise {
        format: "customs.diff",
        source,
    })?;
    out.push('\n');
    Ok(out)
}

/// Control characters become spaces, so a hostile name cannot repaint a terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `1.2 MiB`, `512 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A signed byte difference: `+1.2 MiB`, `-512 B`, `±0 B`.
pub fn signed_bytes(old: u64, new: u64) -> String {
    match new.cmp(&old) {
        std::cmp::Ordering::Greater => format!("+{}", human_bytes(new - old)),
        std::cmp::Ordering::Less => format!("-{}", human_bytes(old - new)),
        std::cmp::Ordering::Equal => "±0 B".to_string(),
    }
}

/// At most this many files per group in the table; JSON lists them all.
pub const TABLE_FILE_LIMIT: usize = 30;

fn aligned(out: &mut String, rows: &[Vec<String>]) {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::from("  ");
        for (c, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < row.len() {
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// The diff as a terminal table: one section per kind of change.
pub fn table(d: &ImageDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}) -> {} ({})",
        clean(&d.old.name),
        crate::subject::short_digest(&d.old.digest),
        clean(&d.new.name),
        crate::subject::short_digest(&d.new.digest)
    );
    let p = &d.packages;
    let _ = writeln!(
        out,
        "\nPackages: {} changed, {} added, {} removed, {} unchanged",
        p.changed.len(),
        p.added.len(),
        p.removed.len(),
        p.unchanged
    );
    let mut rows = Vec::new();
    for c in &p.changed {
        rows.push(vec![
            "~".to_string(),
            clean(&c.name),
            format!(
                "{} -> {}",
                clean(&c.old.join(", ")),
                clean(&c.new.join(", "))
            ),
            clean(&c.ecosystem),
        ]);
    }
    for (sign, list) in [("+", &p.added), ("-", &p.removed)] {
        for r in list {
            rows.push(vec![
                sign.to_string(),
                clean(&r.name),
                clean(&r.version),
                clean(&r.ecosystem),
            ]);
        }
    }
    aligned(&mut out, &rows);
    match &d.findings {
        None => out.push_str("\nFindings: not compared (no vulnerability database)\n"),
        Some(f) => {
            let _ = writeln!(
                out,
                "\nFindings: {} fixed, {} introduced, {} unchanged",
                f.fixed.len(),
                f.introduced.len(),
                f.unchanged
            );
            let mut rows = Vec::new();
            for (label, list) in [("fixed", &f.fixed), ("new", &f.introduced)] {
                for r in list {
                    rows.push(vec![
                        label.to_string(),
                        r.severity.to_string(),
                        clean(&r.id),
                        format!("{} {}", clean(&r.package), clean(&r.version)),
                        if r.kev { "KEV".into() } else { String::new() },
                    ]);
                }
            }
            aligned(&mut out, &rows);
        }
    }
    let f = &d.files;
    let _ = writeln!(
        out,
        "\nFiles: {} changed, {} added, {} removed, {} unchanged; file bytes {} -> {} ({})",
        f.changed.len(),
        f.added.len(),
        f.removed.len(),
        f.unchanged,
        human_bytes(f.old_bytes),
        human_bytes(f.new_bytes),
        signed_bytes(f.old_bytes, f.new_bytes)
    );
    let mut rows = Vec::new();
    let mut more = 0;
    let mut changed: Vec<&FileChange> = f.changed.iter().collect();
    changed.sort_by_key(|c| std::cmp::Reverse(c.old_size.abs_diff(c.new_size)));
    for c in changed.iter().take(TABLE_FILE_LIMIT) {
        rows.push(vec![
            "~".to_string(),
            format!("/{}", clean(&c.path)),
            format!("{} -> {}", human_bytes(c.old_size), human_bytes(c.new_size)),
            c.what.join(","),
        ]);
    }
    more += changed.len().saturating_sub(TABLE_FILE_LIMIT);
    for (sign, list) in [("+", &f.added), ("-", &f.removed)] {
        let mut sorted: Vec<&FileRef> = list.iter().collect();
        sorted.sort_by_key(|r| std::cmp::Reverse(r.size));
        for r in sorted.iter().take(TABLE_FILE_LIMIT) {
            rows.push(vec![
                sign.to_string(),
                format!("/{}", clean(&r.path)),
                human_bytes(r.size),
                r.kind.to_string(),
            ]);
        }
        more += sorted.len().saturating_sub(TABLE_FILE_LIMIT);
    }
    aligned(&mut out, &rows);
    if more > 0 {
        let _ = writeln!(
            out,
            "  … and {more} more (largest shown; -f json lists all)"
        );
    }
    let _ = writeln!(out, "\nConfig: {} changed", d.config.len());
    let rows: Vec<Vec<String>> = d
        .config
        .iter()
        .map(|c| {
            vec![
                clean(&c.field),
                clean(c.old.as_deref().unwrap_or("(unset)")),
                "->".to_string(),
                clean(c.new.as_deref().unwrap_or("(unset)")),
            ]
        })
        .collect();
    aligned(&mut out, &rows);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use customs_inventory::Package;

    fn pkg(name: &str, version: &str) -> Package {
        Package {
            ecosystem: "npm".into(),
            name: name.into(),
            version: version.into(),
            ..Package::default()
        }
    }

    fn file(size: u64, hash: &str) -> FileFacts {
        FileFacts {
            kind: "file",
            size,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            sha256: Some(hash.into()),
            link: None,
        }
    }

    #[test]
    fn packages_are_paired_by_name_and_versions_compared_as_sets() {
        let old = Inventory {
            packages: vec![pkg("a", "1"), pkg("b", "1"), pkg("d", "1"), pkg("d", "2")],
            ..Inventory::default()
        };
        let new = Inventory {
            packages: vec![pkg("a", "2"), pkg("c", "1"), pkg("d", "2"), pkg("d", "1")],
            ..Inventory::default()
        };
        let p = packages(&old, &new);
        assert_eq!(p.changed.len(), 1);
        assert_eq!(
            (p.changed[0].old.clone(), p.changed[0].new.clone()),
            (vec!["1".to_string()], vec!["2".to_string()])
        );
        assert_eq!(
            p.added.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["c"]
        );
        assert_eq!(
            p.removed
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(p.unchanged, 2);
    }

    #[test]
    fn files_differ_by_content_even_at_equal_size() {
        let old = BTreeMap::from([
            ("same".to_string(), file(3, "aa")),
            ("edit".to_string(), file(3, "aa")),
            ("gone".to_string(), file(9, "bb")),
        ]);
        let new = BTreeMap::from([
            ("same".to_string(), file(3, "aa")),
            ("edit".to_string(), file(3, "cc")),
            ("new".to_string(), file(5, "dd")),
        ]);
        let f = files(&old, &new);
        assert_eq!(f.unchanged, 1);
        assert_eq!(f.changed.len(), 1);
        assert_eq!(f.changed[0].what, ["content"]);
        assert_eq!(f.added[0].path, "new");
        assert_eq!(f.removed[0].size, 9);
        assert_eq!((f.old_bytes, f.new_bytes), (15, 11));
    }

    #[test]
    fn table_strips_control_characters() {
        let s = Subject {
            name: "evil\x1b[2Jname".into(),
            ..Subject::default()
        };
        let files = BTreeMap::new();
        let inv = Inventory::default();
        let side = Side {
            subject: &s,
            inventory: &inv,
            findings: None,
            files: &files,
        };
        let t = table(&diff(&side, &side, vec![]));
        assert!(!t.contains('\x1b'), "{t}");
        assert!(t.contains("not compared"));
    }

    #[test]
    fn byte_helpers() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(signed_bytes(10, 4), "-6 B");
        assert_eq!(signed_bytes(4, 4), "±0 B");
    }
}
