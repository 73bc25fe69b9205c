//! Plain-text tables for terminals: the SBOM as one row per package, scan results grouped by
//! package with a summary line. Colour (ANSI) only when the caller asks for it.

use std::fmt::Write as _;

use customs_inventory::Inventory;
use customs_vulndb::{Finding, FixStatus, Severity};

use crate::subject::short_digest;
use crate::{ids, Scan, Subject, Summary};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
/// Longest advisory summary shown in a row, in characters.
const SUMMARY_WIDTH: usize = 72;

fn severity_colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[34m",
        Severity::Info | Severity::Unknown => "\x1b[2m",
    }
}

/// Text from packages and advisories, made safe for a terminal: control characters (escape
/// sequences included) become spaces, so a hostile summary cannot repaint the screen.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// Writes rows as left-aligned columns separated by two spaces, with no trailing blanks.
/// `paint` gives an optional colour per cell (row, column), applied after padding.
fn columns(
    out: &mut String,
    indent: &str,
    rows: &[Vec<String>],
    paint: impl Fn(usize, usize) -> Option<&'static str>,
) {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| width(s))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (r, row) in rows.iter().enumerate() {
        let mut line = String::from(indent);
        for (c, cell) in row.iter().enumerate() {
            let padded = if c + 1 == row.len() {
                cell.clone()
            } else {
                format!("{cell}{}  ", " ".repeat(widths[c] - width(cell)))
            };
            match paint(r, c) {
                Some(colour) => {
                    let (text, pad) = padded.split_at(cell.len());
                    let _ = write!(line, "{colour}{text}{RESET}{pad}");
                }
                None => line.push_str(&padded),
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// `1 package`, `2 packages`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn layer_column(layer: Option<&str>) -> String {
    layer.map_or_else(|| "-".to_string(), |l| short_digest(l).to_string())
}

/// The SBOM: NAME, VERSION, ECOSYSTEM, LAYER (short diff-id), sorted by ecosystem, name and
/// version, then a count of packages (and warnings, if any).
pub fn sbom(subject: &Subject, inventory: &Inventory, color: bool) -> String {
    let mut out = String::new();
    header(&mut out, subject, inventory);
    let mut rows = vec![vec![
        "NAME".to_string(),
        "VERSION".to_string(),
        "ECOSYSTEM".to_string(),
        "LAYER".to_string(),
    ]];
    for p in ids::sorted(&inventory.packages) {
        rows.push(vec![
            clean(&p.name),
            clean(&p.version),
            clean(p.ecosystem.as_str()),
            layer_column(p.layer.as_deref()),
        ]);
    }
    columns(&mut out, "", &rows, |r, _| {
        (color && r == 0).then_some(BOLD)
    });
    let _ = write!(out, "\n{}", count(inventory.packages.len(), "package"));
    if !inventory.warnings.is_empty() {
        let _ = write!(out, ", {}", count(inventory.warnings.len(), "warning"));
    }
    out.push('\n');
    if !inventory.suppressed.is_empty() {
        // Said out loud so nothing silently disappears.
        let _ = writeln!(
            out,
            "{} reported once, as the OS package that installed their files:",
            count(inventory.suppressed.len(), "language package")
        );
        for p in ids::sorted(&inventory.suppressed) {
            let at = p.locations.first().map(String::as_str).unwrap_or("");
            let _ = writeln!(
                out,
                "  {} {} ({}) {}",
                clean(&p.name),
                clean(&p.version),
                clean(p.ecosystem.as_str()),
                clean(at)
            );
        }
    }
    out
}

fn header(out: &mut String, subject: &Subject, inventory: &Inventory) {
    out.push_str(&clean(&subject.name));
    if let Some(os) = &inventory.os {
        let name = os
            .pretty_name
            .clone()
            .unwrap_or_else(|| format!("{} {}", os.family, os.version));
        let _ = write!(out, " ({})", clean(&name));
    }
    out.push_str("\n\n");
}

/// Scan results grouped by package (in SBOM order), most severe first within a package, then a
/// summary: counts by severity, fixed and unfixed, suppressed, warnings.
pub fn scan(scan: &Scan<'_>, color: bool) -> String {
    scan_in(scan, color, Order::Package)
}

/// How the scan table orders its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// By package, then by id (the default).
    #[default]
    Package,
    /// By risk: known exploited (CISA KEV) first, then by EPSS score, then by severity;
    /// rows of one package stay together only where they are adjacent.
    Risk,
}

/// The risk order: KEV, then EPSS (highest first), then severity (highest first).
pub fn risk_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    b.kev
        .is_some()
        .cmp(&a.kev.is_some())
        .then_with(|| {
            let (x, y) = (
                a.epss.as_ref().map_or(-1.0, |e| e.score),
                b.epss.as_ref().map_or(-1.0, |e| e.score),
            );
            y.total_cmp(&x)
        })
        .then_with(|| b.severity.cmp(&a.severity))
}

/// [`scan`] in the given order.
pub fn scan_in(scan: &Scan<'_>, color: bool, order: Order) -> String {
    let mut out = String::new();
    header(&mut out, scan.subject, scan.inventory);
    let mut findings = ids::sorted_findings(scan.findings);
    if order == Order::Risk {
        // Stable: ties keep the package order.
        findings.sort_by(|a, b| risk_order(a, b));
    }
    let risk_column = findings.iter().any(|f| f.kev.is_some() || f.epss.is_some());
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    for f in findings {
        match groups.last_mut() {
            Some(group) if ids::fingerprint(&group[0].package) == ids::fingerprint(&f.package) => {
                group.push(f)
            }
            _ => groups.push(vec![f]),
        }
    }
    // One header row, then every finding, so that columns line up across all groups.
    let mut head = vec!["SEVERITY".to_string(), "ID".to_string()];
    if risk_column {
        head.push("RISK".to_string());
    }
    head.extend(["FIXED IN".to_string(), "SUMMARY".to_string()]);
    let mut rows = vec![head];
    for f in groups.iter().flatten() {
        let fixed = match (f.fix_status, f.fixed_versions.first()) {
            (FixStatus::Fixed, Some(v)) => clean(v),
            _ => "-".to_string(),
        };
        let mut row = vec![f.severity.as_str().to_string(), clean(&f.id)];
        if risk_column {
            let mut risk = Vec::new();
            if f.kev.is_some() {
                risk.push("KEV".to_string());
            }
            if let Some(e) = f.epss.as_ref().filter(|e| e.score.is_finite()) {
                risk.push(format!("EPSS {:.1}%", e.score * 100.0));
            }
            row.push(if risk.is_empty() {
                "-".into()
            } else {
                risk.join(" ")
            });
        }
        row.extend([fixed, truncate(&clean(&f.summary), SUMMARY_WIDTH)]);
        rows.push(row);
    }
    let severities: Vec<Severity> = groups.iter().flatten().map(|f| f.severity).collect();
    // Lay out every row at once so that columns line up across groups, then deal them out.
    let mut table = String::new();
    columns(&mut table, "  ", &rows, |r, c| match (color, r, c) {
        (false, _, _) => None,
        (true, 0, _) => Some(BOLD),
        (true, r, 0) => Some(severity_colour(severities[r - 1])),
        _ => None,
    });
    let lines: Vec<&str> = table.lines().collect();
    if groups.is_empty() {
        out.push_str("No vulnerabilities found.\n\n");
    }
    let mut next = 1;
    for group in &groups {
        let p = &group[0].package;
        let (bold, reset) = if color { (BOLD, RESET) } else { ("", "") };
        let _ = write!(
            out,
            "{bold}{} {}{reset} ({})",
            clean(&p.name),
            clean(&p.version),
            clean(p.ecosystem.as_str())
        );
        if let Some(layer) = &p.layer {
            let _ = write!(out, "  layer {}", short_digest(layer));
        }
        if let Some(location) = p.locations.first() {
            let _ = write!(out, "  {}", clean(location));
        }
        out.push('\n');
        for line in std::iter::once(&lines[0]).chain(&lines[next..next + group.len()]) {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        next += group.len();
    }
    summary_line(&mut out, &Summary::of(scan), color);
    out
}

fn summary_line(out: &mut String, s: &Summary, color: bool) {
    let _ = write!(
        out,
        "Total: {} vulnerabilities in {} of {} packages (",
        s.findings, s.affected_packages, s.packages
    );
    let order = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];
    for (i, severity) in order.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let label = severity.as_str();
        if color {
            let _ = write!(out, "{}{label}{RESET}", severity_colour(severity));
        } else {
            out.push_str(label);
        }
        let _ = write!(out, ": {}", s.by_severity.get(severity));
    }
    let _ = writeln!(out, ")");
    let _ = write!(
        out,
        "Fixed: {}, not fixed: {}, suppressed: {}",
        s.fixed, s.not_fixed, s.suppressed
    );
    if s.warnings > 0 {
        let _ = write!(out, ", warnings: {}", s.warnings);
    }
    out.push('\n');
}
