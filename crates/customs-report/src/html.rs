//! The HTML report (`customs report IMAGE -o report.html`): one self-contained page for a
//! person, with the image's identity and verdict, findings by severity (KEV and EPSS where
//! known), what each layer brings (findings, bytes and wasted bytes), packages by ecosystem,
//! the audit findings, a findings table that sorts and filters with JavaScript and stays a
//! plain table without it, and optionally what changed since another image ([`ImageDiff`]).
//!
//! Written by hand rather than with a template engine: the page is a handful of sections, and
//! the one property that matters, that every string from the image is escaped, is easiest to
//! audit when every interpolation goes through [`escape`]. The page fetches nothing: its
//! Content-Security-Policy is `default-src 'none'`, and the one stylesheet and the one script
//! are inline, allowed by their SHA-256 hashes. Charts are inline SVG ([`crate::svg`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use customs_vulndb::{Finding, FixStatus, Severity};
use sha2::{Digest as _, Sha256};

use crate::diff::{human_bytes, signed_bytes, ImageDiff};
use crate::subject::short_digest;
use crate::svg::{self, Bar, Segment};
use crate::{ids, DocumentInfo, Scan, Summary};

/// One layer as the report draws it.
#[derive(Debug, Clone, Default)]
pub struct LayerView {
    /// 0 = base.
    pub index: usize,
    /// Diff-id of the layer.
    pub diff_id: String,
    /// The history step that made it, secrets already masked.
    pub created_by: Option<String>,
    /// Uncompressed tar size.
    pub size: u64,
    /// Bytes of regular files in the layer.
    pub file_bytes: u64,
    /// Bytes of this layer's files that later layers made unreachable.
    pub wasted_bytes: u64,
    /// Entries in the tar.
    pub entries: usize,
}

/// One best-practice finding (`customs audit`), message already masked.
#[derive(Debug, Clone, Default)]
pub struct AuditItem {
    /// Rule id (`CUS-PRIV-001`).
    pub id: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM`, `LOW` or `INFO`.
    pub severity: String,
    /// The rule's title.
    pub title: String,
    /// What was found.
    pub message: String,
    /// Where: a path in the image, if any.
    pub path: Option<String>,
    /// The layer it is in, if any.
    pub layer_index: Option<usize>,
    /// What to do.
    pub fix: String,
}

/// The overall judgement at the top of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Nothing at or above the threshold, no known exploited vulnerability.
    Pass,
    /// Findings below the threshold, or audit findings.
    Warn,
    /// A finding at or above the threshold, or one known to be exploited.
    Fail,
}

/// The verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Pass, warn or fail.
    pub level: Level,
    /// One sentence per reason.
    pub reasons: Vec<String>,
}

/// Everything the page shows.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// Subject, inventory and findings.
    pub scan: Scan<'a>,
    /// Tool version and creation time.
    pub info: &'a DocumentInfo,
    /// Config facts to show (`User`, `Entrypoint`, `Env PATH`), values already masked.
    pub config: &'a [(String, String)],
    /// Layers, lowest first.
    pub layers: &'a [LayerView],
    /// `1 − wasted/total` over every layer, when the audit computed it.
    pub efficiency: Option<f64>,
    /// Best-practice findings, when the audit ran.
    pub audit: Option<&'a [AuditItem]>,
    /// What changed since another image.
    pub diff: Option<&'a ImageDiff>,
    /// Findings at or above this severity fail the verdict.
    pub fail_on: Severity,
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
/// Control characters other than tab and newline become U+FFFD, so nothing invisible reaches
/// the page.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Unknown,
];

fn sev_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "sev-critical",
        Severity::High => "sev-high",
        Severity::Medium => "sev-medium",
        Severity::Low => "sev-low",
        Severity::Info | Severity::Unknown => "sev-unknown",
    }
}

fn sev_rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
        Severity::Info | Severity::Unknown => 0,
    }
}

/// The verdict: fail on a finding at or above `fail_on` or in KEV; warn on any other finding
/// or on an audit finding rated HIGH or CRITICAL; pass otherwise.
pub fn verdict(findings: &[Finding], audit: Option<&[AuditItem]>, fail_on: Severity) -> Verdict {
    let mut reasons = Vec::new();
    let at_or_above = findings
        .iter()
        .filter(|f| f.severity != Severity::Unknown && f.severity >= fail_on)
        .count();
    let kev = findings.iter().filter(|f| f.kev.is_some()).count();
    let mut level = Level::Pass;
    if at_or_above > 0 {
        level = Level::Fail;
        reasons.push(format!(
            "{at_or_above} finding(s) at or above {}",
            fail_on.as_str()
        ));
    }
    if kev > 0 {
        level = Level::Fail;
        reasons.push(format!(
            "{kev} finding(s) in CISA's Known Exploited Vulnerabilities catalogue"
        ));
    }
    let below = findings.len() - at_or_above;
    if below > 0 && level == Level::Pass {
        level = Level::Warn;
        reasons.push(format!("{below} finding(s) below {}", fail_on.as_str()));
    }
    if let Some(items) = audit {
        let serious = items
            .iter()
            .filter(|a| a.severity == "HIGH" || a.severity == "CRITICAL")
            .count();
        if serious > 0 {
            if level == Level::Pass {
                level = Level::Warn;
            }
            reasons.push(format!(
                "{serious} best-practice finding(s) rated HIGH or CRITICAL"
            ));
        }
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "no vulnerability at or above {} and no serious best-practice finding",
            fail_on.as_str()
        ));
    }
    Verdict { level, reasons }
}

const STYLE: &str = r#"
:root{--fg:#1b1f24;--muted:#57606a;--bg:#fff;--panel:#f6f8fa;--line:#d0d7de;--crit:#8b0000;--high:#d1242f;--med:#bf8700;--low:#0969da;--unk:#8c959f;--live:#2da44e;--waste:#cf222e;--eco:#6639ba}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
h1{font-size:1.5em;margin:.8em 0 .2em;overflow-wrap:anywhere}
h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1em;margin:1em 0 .3em}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.verdict{border-radius:6px;padding:.6em 1em;margin:1em 0;border:2px solid}
.verdict strong{font-size:1.2em;margin-right:.5em}
.verdict.pass{border-color:var(--live);background:#dafbe1}
.verdict.warn{border-color:var(--med);background:#fff8c5}
.verdict.fail{border-color:var(--high);background:#ffebe9}
.verdict ul{margin:.3em 0 0;padding-left:1.2em}
ul.counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5em;margin:.5em 0}
ul.counts li{border:1px solid var(--line);border-radius:6px;padding:.3em .7em;background:var(--panel)}
ul.counts .n{font-weight:700;font-size:1.2em;margin-right:.3em}
.chart{width:100%;max-width:640px;height:auto;display:block;margin:.3em 0}
.chart text{font-size:12px;fill:var(--fg)}
.chart .track{fill:var(--panel);stroke:var(--line)}
.sev-critical{fill:var(--crit)}.sev-high{fill:var(--high)}.sev-medium{fill:var(--med)}.sev-low{fill:var(--low)}.sev-unknown{fill:var(--unk)}
.live{fill:var(--live)}.waste{fill:var(--waste)}.eco{fill:var(--eco)}
span.sev{display:inline-block;min-width:5.5em;text-align:center;border-radius:4px;color:#fff;font-size:.8em;font-weight:700;padding:0 .3em}
span.sev-critical{background:var(--crit)}span.sev-high{background:var(--high)}span.sev-medium{background:var(--med)}span.sev-low{background:var(--low)}span.sev-unknown,span.sev-info{background:var(--unk)}
.kev{color:var(--high);font-weight:700}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border-bottom:1px solid var(--line);padding:.3em .5em;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere}
th{background:var(--panel);position:sticky;top:0}
th button{font:inherit;font-weight:700;background:none;border:0;padding:0;cursor:pointer;color:inherit}
th[aria-sort=ascending] button::after{content:" \25B2"}
th[aria-sort=descending] button::after{content:" \25BC"}
.layer{border:1px solid var(--line);border-radius:6px;padding:.5em .8em;margin:.6em 0}
.layer .cmd{color:var(--muted);max-height:4.5em;overflow:hidden}
.muted{color:var(--muted)}
#controls{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;margin:.5em 0}
#controls input[type=search]{flex:1 1 14em;padding:.3em;font:inherit}
.legend span{margin-right:1em}
.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:middle}
.legend .live{background:var(--live)}.legend .waste{background:var(--waste)}
details{margin:.4em 0}
summary{cursor:pointer}
footer{color:var(--muted);font-size:.85em;margin:2em auto 1em}
@media (max-width:640px){body{font-size:14px}dl.facts{grid-template-columns:1fr}dl.facts dt{margin-top:.4em}th,td{padding:.25em .3em}}
@media print{body{font-size:10pt;color:#000}#controls,noscript{display:none!important}th{position:static}.scroll{overflow:visible}a{color:#000}section,.layer,tr{break-inside:avoid}h2{break-after:avoid}.verdict{background:none!important}details>*{display:block}header,main,footer{max-width:none}}
"#;

const SCRIPT: &str = r#"
(function(){
"use strict";
var table=document.getElementById("findings");
if(!table){return;}
var body=table.tBodies[0];
var rows=Array.prototype.slice.call(body.rows);
var controls=document.getElementById("controls");
var q=document.getElementById("q"),sev=document.getElementById("sev"),kev=document.getElementById("kevonly"),shown=document.getElementById("shown");
controls.hidden=false;
function apply(){
  var text=q.value.toLowerCase(),s=sev.value,n=0;
  rows.forEach(function(r){
    var ok=(!s||r.getAttribute("data-severity")===s)&&(!kev.checked||r.getAttribute("data-kev")==="1")&&(!text||r.textContent.toLowerCase().indexOf(text)>=0);
    r.hidden=!ok;
    if(ok){n++;}
  });
  shown.textContent=n+" of "+rows.length+" shown";
}
[q,sev,kev].forEach(function(e){e.addEventListener("input",apply);e.addEventListener("change",apply);});
var heads=Array.prototype.slice.call(table.tHead.rows[0].cells);
function key(r,i){var c=r.cells[i];var k=c.getAttribute("data-key");return k===null?c.textContent.toLowerCase():k;}
heads.forEach(function(th,i){
  var b=document.createElement("button");
  b.type="button";
  b.textContent=th.textContent;
  th.textContent="";
  th.appendChild(b);
  th.setAttribute("aria-sort","none");
  b.addEventListener("click",function(){
    var dir=th.getAttribute("aria-sort")==="ascending"?-1:1;
    var num=th.getAttribute("data-type")==="num";
    rows.sort(function(x,y){
      var a=key(x,i),c=key(y,i);
      if(num){a=parseFloat(a);c=parseFloat(c);if(isNaN(a)){a=-1;}if(isNaN(c)){c=-1;}}
      return a<c?-dir:a>c?dir:0;
    });
    rows.forEach(function(r){body.appendChild(r);});
    heads.forEach(function(h){h.setAttribute("aria-sort","none");});
    th.setAttribute("aria-sort",dir===1?"ascending":"descending");
  });
});
apply();
})();
"#;

fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The Content-Security-Policy the page carries: nothing may load; the inline stylesheet
/// and script run by hash.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The page.
pub fn render(r: &Report<'_>) -> String {
    let scan = &r.scan;
    let subject = scan.subject;
    let summary = Summary::of(scan);
    let verdict = verdict(scan.findings, r.audit, r.fail_on);
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("customs report: {}", subject.name);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="customs {}">
<title>{}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1 id="image-name">{}</h1>
"#,
        content_security_policy(),
        escape(&r.info.tool_version),
        escape(&title),
        escape(&subject.name),
    );
    let (class, word) = match verdict.level {
        Level::Pass => ("pass", "PASS"),
        Level::Warn => ("warn", "WARN"),
        Level::Fail => ("fail", "FAIL"),
    };
    let _ = write!(
        out,
        r#"<div class="verdict {class}" id="verdict" data-verdict="{class}"><strong>{word}</strong><ul>"#
    );
    for reason in &verdict.reasons {
        let _ = write!(out, "<li>{}</li>", escape(reason));
    }
    out.push_str("</ul></div>\n</header>\n<main>\n");

    identity(&mut out, r);
    severities(&mut out, scan, &summary);
    layers(&mut out, r);
    ecosystems(&mut out, scan);
    if let Some(items) = r.audit {
        audit(&mut out, items);
    }
    findings_table(&mut out, scan);
    if let Some(d) = r.diff {
        diff_section(&mut out, d);
    }
    let _ = write!(
        out,
        "</main>\n<footer>Made by customs {} on {}. This page loads nothing from the network.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(&r.info.tool_version),
        escape(&r.info.created.rfc3339())
    );
    out
}

fn fact(out: &mut String, label: &str, value: &str, mono: bool) {
    let class = if mono { r#" class="mono""# } else { "" };
    let _ = write!(
        out,
        "<dt>{}</dt><dd{class}>{}</dd>",
        escape(label),
        escape(value)
    );
}

fn identity(out: &mut String, r: &Report<'_>) {
    let s = r.scan.subject;
    out.push_str("<section id=\"identity\"><h2>Image</h2><dl class=\"facts\">");
    fact(out, "Name", &s.name, false);
    if !s.manifest_digest.is_empty() {
        fact(out, "Manifest digest", &s.manifest_digest, true);
    }
    fact(out, "Config digest (image id)", &s.config_digest, true);
    let platform = s.platform.display();
    if !platform.is_empty() {
        fact(out, "Platform", &platform, false);
    }
    if let Some(os) = &r.scan.inventory.os {
        let text = os
            .pretty_name
            .clone()
            .unwrap_or_else(|| format!("{} {}", os.family, os.version));
        fact(out, "OS", &text, false);
    }
    if let Some(base) = &s.base_name {
        fact(out, "Base image", base, false);
    }
    let stored: u64 = s.layers.iter().map(|l| l.size).sum();
    fact(
        out,
        "Layers",
        &format!("{} ({} stored)", s.layers.len(), human_bytes(stored)),
        false,
    );
    for (k, v) in r.config {
        fact(out, k, v, true);
    }
    for (k, v) in &s.labels {
        fact(out, &format!("Label {k}"), v, true);
    }
    out.push_str("</dl></section>\n");
}

fn severities(out: &mut String, scan: &Scan<'_>, summary: &Summary) {
    out.push_str("<section id=\"severity\"><h2>Vulnerabilities by severity</h2>");
    let _ = write!(
        out,
        r#"<p><span id="total-findings">{}</span> finding(s) in <span id="affected-packages">{}</span> of {} package(s); {} with a fix available."#,
        summary.findings, summary.affected_packages, summary.packages, summary.fixed
    );
    if summary.suppressed > 0 {
        let _ = write!(
            out,
            " {} suppressed by the ignore file or VEX.",
            summary.suppressed
        );
    }
    out.push_str("</p><ul class=\"counts\">");
    for s in SEVERITIES {
        let label = s.as_str();
        let _ = write!(
            out,
            r#"<li><span class="n" data-severity-count="{label}">{}</span><span class="sev {}">{label}</span></li>"#,
            summary.by_severity.get(s),
            sev_class(s)
        );
    }
    out.push_str("</ul>");
    let bars: Vec<Bar> = SEVERITIES
        .iter()
        .map(|&s| Bar {
            label: s.as_str().to_string(),
            value: summary.by_severity.get(s) as u64,
            text: summary.by_severity.get(s).to_string(),
            class: sev_class(s),
        })
        .collect();
    out.push_str(&svg::bars("Findings by severity", &bars));
    let kev: Vec<&Finding> = scan.findings.iter().filter(|f| f.kev.is_some()).collect();
    let with_epss: Vec<&Finding> = scan.findings.iter().filter(|f| f.epss.is_some()).collect();
    let _ = write!(
        out,
        r#"<p>Known exploited (CISA KEV): <strong id="kev-count">{}</strong>. With an EPSS score: {}."#,
        kev.len(),
        with_epss.len()
    );
    let top = with_epss.iter().copied().max_by(|a, b| {
        let (x, y) = (epss_score(a), epss_score(b));
        x.total_cmp(&y)
    });
    if let Some(f) = top {
        let _ = write!(
            out,
            " Highest EPSS: <span class=\"mono\">{}</span> in {} ({}).",
            escape(&f.id),
            escape(&f.package.name),
            percent(epss_score(f))
        );
    }
    out.push_str("</p>");
    if !kev.is_empty() {
        out.push_str("<div class=\"scroll\"><table id=\"kev\"><thead><tr><th>Advisory</th><th>Package</th><th>Added to KEV</th><th>Due</th><th>Ransomware</th></tr></thead><tbody>");
        for f in kev {
            let k = f.kev.as_ref().expect("filtered");
            let _ = write!(
                out,
                "<tr><td class=\"mono\">{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&f.id),
                escape(&f.package.name),
                escape(&f.package.version),
                escape(&k.date_added),
                escape(&k.due_date),
                if k.ransomware { "known" } else { "unknown" }
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>\n");
}

fn epss_score(f: &Finding) -> f64 {
    f.epss
        .as_ref()
        .map(|e| e.score)
        .filter(|s| s.is_finite())
        .unwrap_or(-1.0)
}

fn layers(out: &mut String, r: &Report<'_>) {
    let scan = &r.scan;
    out.push_str("<section id=\"layers\"><h2>Layers</h2>");
    let total: u64 = r.layers.iter().map(|l| l.file_bytes).sum();
    let wasted: u64 = r.layers.iter().map(|l| l.wasted_bytes).sum();
    let _ = write!(
        out,
        "<p>{} of files in {} layer(s); <span id=\"wasted-bytes\" data-bytes=\"{wasted}\">{}</span> wasted (stored in a layer, then replaced or deleted by a later one)",
        human_bytes(total),
        r.layers.len(),
        human_bytes(wasted)
    );
    if let Some(e) = r.efficiency {
        let _ = write!(out, "; efficiency {:.2}%", e * 100.0);
    }
    out.push_str(".</p><p class=\"legend\"><span><i class=\"live\"></i>bytes still visible</span><span><i class=\"waste\"></i>wasted bytes</span></p>");
    let by_layer = findings_by_layer(scan);
    let max_bytes = r.layers.iter().map(|l| l.file_bytes).max().unwrap_or(0);
    let max_findings = by_layer
        .values()
        .map(|c| c.iter().sum::<usize>())
        .max()
        .unwrap_or(0);
    for l in r.layers {
        let counts = by_layer
            .get(&Some(l.diff_id.clone()))
            .copied()
            .unwrap_or_default();
        let n: usize = counts.iter().sum();
        let packages = scan
            .inventory
            .packages
            .iter()
            .filter(|p| p.layer.as_deref() == Some(l.diff_id.as_str()))
            .count();
        let _ = write!(
            out,
            r#"<div class="layer" data-layer="{}" data-findings="{n}" data-wasted="{}"><h3>Layer {} <span class="mono muted">{}</span></h3>"#,
            l.index,
            l.wasted_bytes,
            l.index,
            escape(short_digest(&l.diff_id))
        );
        if let Some(cmd) = &l.created_by {
            let _ = write!(out, "<div class=\"cmd mono\">{}</div>", escape(cmd));
        }
        let _ = write!(
            out,
            "<p>{} in {} entries ({} of files), {} package(s), {} finding(s)</p>",
            human_bytes(l.size),
            l.entries,
            human_bytes(l.file_bytes),
            packages,
            n
        );
        let live = l.file_bytes.saturating_sub(l.wasted_bytes);
        out.push_str(&svg::stacked(
            &format!("Layer {} bytes", l.index),
            &[
                Segment {
                    value: live,
                    class: "live",
                    title: format!("visible: {}", human_bytes(live)),
                },
                Segment {
                    value: l.wasted_bytes,
                    class: "waste",
                    title: format!("wasted: {}", human_bytes(l.wasted_bytes)),
                },
            ],
            max_bytes,
            &format!(
                "{} ({} wasted)",
                human_bytes(l.file_bytes),
                human_bytes(l.wasted_bytes)
            ),
        ));
        let segments: Vec<Segment> = SEVERITIES
            .iter()
            .map(|&s| Segment {
                value: counts[sev_rank(s) as usize] as u64,
                class: sev_class(s),
                title: format!("{}: {}", s.as_str(), counts[sev_rank(s) as usize]),
            })
            .collect();
        out.push_str(&svg::stacked(
            &format!("Layer {} findings", l.index),
            &segments,
            max_findings as u64,
            &format!("{n} finding(s)"),
        ));
        out.push_str("</div>");
    }
    if let Some(counts) = by_layer.get(&None) {
        let n: usize = counts.iter().sum();
        let _ = write!(
            out,
            "<p class=\"muted\">{n} finding(s) in packages no layer could be attributed to.</p>"
        );
    }
    out.push_str("</section>\n");
}

/// Findings per layer diff-id (`None`: not attributed), indexed by [`sev_rank`].
fn findings_by_layer(scan: &Scan<'_>) -> BTreeMap<Option<String>, [usize; 5]> {
    let mut out: BTreeMap<Option<String>, [usize; 5]> = BTreeMap::new();
    for f in scan.findings {
        out.entry(f.package.layer.clone()).or_default()[sev_rank(f.severity) as usize] += 1;
    }
    out
}

fn ecosystems(out: &mut String, scan: &Scan<'_>) {
    let mut by: BTreeMap<&str, Vec<&customs_inventory::Package>> = BTreeMap::new();
    for p in ids::sorted(&scan.inventory.packages) {
        by.entry(p.ecosystem.as_str()).or_default().push(p);
    }
    let _ = write!(
        out,
        "<section id=\"packages\"><h2>Packages by ecosystem</h2><p><span id=\"package-count\">{}</span> package(s) in {} ecosystem(s).</p>",
        scan.inventory.packages.len(),
        by.len()
    );
    let bars: Vec<Bar> = by
        .iter()
        .map(|(eco, list)| Bar {
            label: (*eco).to_string(),
            value: list.len() as u64,
            text: list.len().to_string(),
            class: "eco",
        })
        .collect();
    if !bars.is_empty() {
        out.push_str(&svg::bars("Packages by ecosystem", &bars));
    }
    for (eco, list) in &by {
        let _ = write!(
            out,
            "<details data-ecosystem=\"{}\"><summary>{} ({})</summary><div class=\"scroll\"><table><thead><tr><th>Name</th><th>Version</th><th>Licences</th><th>Layer</th></tr></thead><tbody>",
            escape(eco),
            escape(eco),
            list.len()
        );
        for p in list {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                escape(&p.name),
                escape(&p.version),
                escape(&p.licenses.join(", ")),
                escape(p.layer.as_deref().map(short_digest).unwrap_or("-"))
            );
        }
        out.push_str("</tbody></table></div></details>");
    }
    out.push_str("</section>\n");
}

fn audit(out: &mut String, items: &[AuditItem]) {
    let _ = write!(
        out,
        "<section id=\"audit\"><h2>Best-practice audit</h2><p><span id=\"audit-count\">{}</span> finding(s).</p>",
        items.len()
    );
    if !items.is_empty() {
        out.push_str("<div class=\"scroll\"><table id=\"audit-table\"><thead><tr><th>Severity</th><th>Rule</th><th>Finding</th><th>Where</th><th>Fix</th></tr></thead><tbody>");
        for a in items {
            let class = format!("sev-{}", a.severity.to_ascii_lowercase());
            let mut place = a
                .path
                .as_deref()
                .map(|p| format!("/{p}"))
                .unwrap_or_default();
            if let Some(l) = a.layer_index {
                if !place.is_empty() {
                    place.push(' ');
                }
                let _ = write!(place, "(layer {l})");
            }
            let _ = write!(
                out,
                "<tr data-severity=\"{}\"><td><span class=\"sev {}\">{}</span></td><td class=\"mono\">{}</td><td><strong>{}</strong><br>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                escape(&a.severity),
                escape(&class),
                escape(&a.severity),
                escape(&a.id),
                escape(&a.title),
                escape(&a.message),
                escape(&place),
                escape(&a.fix)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>\n");
}

fn findings_table(out: &mut String, scan: &Scan<'_>) {
    let layer_index: BTreeMap<&str, usize> = scan
        .subject
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| (l.diff_id.as_str(), i))
        .collect();
    out.push_str("<section id=\"all-findings\"><h2>All findings</h2>");
    out.push_str(r#"<div id="controls" hidden><input type="search" id="q" placeholder="Filter: id, package, text" aria-label="Filter findings"><select id="sev" aria-label="Severity"><option value="">All severities</option>"#);
    for s in SEVERITIES {
        let _ = write!(out, r#"<option value="{0}">{0}</option>"#, s.as_str());
    }
    out.push_str(r#"</select><label><input type="checkbox" id="kevonly"> KEV only</label><output id="shown"></output></div>"#);
    if scan.findings.is_empty() {
        out.push_str("<p id=\"no-findings\">No vulnerabilities found.</p></section>\n");
        return;
    }
    out.push_str(r#"<div class="scroll"><table id="findings"><thead><tr><th data-type="num">Severity</th><th>Advisory</th><th>Package</th><th>Version</th><th>Fixed in</th><th>Ecosystem</th><th data-type="num">Layer</th><th data-type="num">KEV</th><th data-type="num">EPSS</th><th>Summary</th></tr></thead><tbody>"#);
    let mut sorted = ids::sorted_findings(scan.findings);
    sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in sorted {
        let label = f.severity.as_str();
        let layer = f
            .package
            .layer
            .as_deref()
            .and_then(|d| layer_index.get(d).copied());
        let fixed = match f.fix_status {
            FixStatus::Fixed => f.fixed_versions.join(", "),
            FixStatus::NotFixed => "no fix".to_string(),
        };
        let (epss_key, epss_text) = match f.epss.as_ref().filter(|e| e.score.is_finite()) {
            Some(e) => (
                format!("{:.5}", e.score),
                format!("{} (p{:.0})", percent(e.score), e.percentile * 100.0),
            ),
            None => ("-1".to_string(), String::new()),
        };
        let aliases = if f.aliases.is_empty() {
            String::new()
        } else {
            format!(
                "<br><span class=\"muted\">{}</span>",
                escape(&f.aliases.join(", "))
            )
        };
        let _ = write!(
            out,
            "<tr data-severity=\"{label}\" data-kev=\"{}\"><td data-key=\"{}\"><span class=\"sev {}\">{label}</span></td><td class=\"mono\">{}{aliases}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td data-key=\"{}\">{}</td><td data-key=\"{}\">{}</td><td data-key=\"{epss_key}\">{}</td><td>{}</td></tr>",
            u8::from(f.kev.is_some()),
            sev_rank(f.severity),
            sev_class(f.severity),
            escape(&f.id),
            escape(&f.package.name),
            escape(&f.package.version),
            escape(&fixed),
            escape(f.package.ecosystem.as_str()),
            layer.map_or(-1, |l| l as i64),
            layer.map_or_else(|| "-".to_string(), |l| l.to_string()),
            u8::from(f.kev.is_some()),
            if f.kev.is_some() { "<span class=\"kev\">KEV</span>" } else { "" },
            escape(&epss_text),
            escape(&f.summary),
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

fn diff_section(out: &mut String, d: &ImageDiff) {
    let _ = write!(
        out,
        "<section id=\"diff\"><h2>Changes since {}</h2><p class=\"mono muted\">{} → {}</p>",
        escape(&d.old.name),
        escape(short_digest(&d.old.digest)),
        escape(short_digest(&d.new.digest))
    );
    let p = &d.packages;
    let _ = write!(
        out,
        "<ul class=\"counts\"><li><span class=\"n\" id=\"diff-changed\">{}</span>version changes</li><li><span class=\"n\" id=\"diff-added\">{}</span>packages added</li><li><span class=\"n\" id=\"diff-removed\">{}</span>packages removed</li>",
        p.changed.len(),
        p.added.len(),
        p.removed.len()
    );
    if let Some(f) = &d.findings {
        let _ = write!(
            out,
            "<li><span class=\"n\" id=\"diff-fixed\">{}</span>findings fixed</li><li><span class=\"n\" id=\"diff-introduced\">{}</span>findings introduced</li>",
            f.fixed.len(),
            f.introduced.len()
        );
    }
    out.push_str("</ul>");
    if !(p.changed.is_empty() && p.added.is_empty() && p.removed.is_empty()) {
        out.push_str("<h3>Packages</h3><div class=\"scroll\"><table id=\"diff-packages\"><thead><tr><th>Change</th><th>Package</th><th>Ecosystem</th><th>Old</th><th>New</th></tr></thead><tbody>");
        for c in &p.changed {
            let _ = write!(
                out,
                "<tr data-change=\"changed\"><td>changed</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                escape(&c.name),
                escape(&c.ecosystem),
                escape(&c.old.join(", ")),
                escape(&c.new.join(", "))
            );
        }
        for (what, list, old) in [("added", &p.added, false), ("removed", &p.removed, true)] {
            for r in list {
                let (o, n) = if old {
                    (r.version.as_str(), "")
                } else {
                    ("", r.version.as_str())
                };
                let _ = write!(
                    out,
                    "<tr data-change=\"{what}\"><td>{what}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                    escape(&r.name),
                    escape(&r.ecosystem),
                    escape(o),
                    escape(n)
                );
            }
        }
        out.push_str("</tbody></table></div>");
    }
    if let Some(f) = &d.findings {
        if !(f.fixed.is_empty() && f.introduced.is_empty()) {
            out.push_str("<h3>Findings</h3><div class=\"scroll\"><table id=\"diff-findings\"><thead><tr><th>Change</th><th>Severity</th><th>Advisory</th><th>Package</th><th>KEV</th></tr></thead><tbody>");
            for (what, list) in [("fixed", &f.fixed), ("introduced", &f.introduced)] {
                for r in list {
                    let _ = write!(
                        out,
                        "<tr data-change=\"{what}\"><td>{what}</td><td><span class=\"sev sev-{}\">{}</span></td><td class=\"mono\">{}</td><td>{} {}</td><td>{}</td></tr>",
                        r.severity.to_ascii_lowercase(),
                        r.severity,
                        escape(&r.id),
                        escape(&r.package),
                        escape(&r.version),
                        if r.kev { "KEV" } else { "" }
                    );
                }
            }
            out.push_str("</tbody></table></div>");
        }
    }
    let files = &d.files;
    let _ = write!(
        out,
        "<h3>Files</h3><p>{} changed, {} added, {} removed, {} unchanged; file bytes {} → {} ({}).</p>",
        files.changed.len(),
        files.added.len(),
        files.removed.len(),
        files.unchanged,
        human_bytes(files.old_bytes),
        human_bytes(files.new_bytes),
        signed_bytes(files.old_bytes, files.new_bytes)
    );
    let limit = crate::diff::TABLE_FILE_LIMIT;
    let mut changed: Vec<_> = files.changed.iter().collect();
    changed.sort_by_key(|c| std::cmp::Reverse(c.old_size.abs_diff(c.new_size)));
    let mut added: Vec<_> = files.added.iter().collect();
    added.sort_by_key(|r| std::cmp::Reverse(r.size));
    let mut removed: Vec<_> = files.removed.iter().collect();
    removed.sort_by_key(|r| std::cmp::Reverse(r.size));
    if !(changed.is_empty() && added.is_empty() && removed.is_empty()) {
        let _ = write!(out, "<details><summary>Largest file changes (up to {limit} of each kind)</summary><div class=\"scroll\"><table id=\"diff-files\"><thead><tr><th>Change</th><th>Path</th><th>Size</th><th>What</th></tr></thead><tbody>");
        for c in changed.iter().take(limit) {
            let _ = write!(
                out,
                "<tr><td>changed</td><td class=\"mono\">/{}</td><td>{} → {}</td><td>{}</td></tr>",
                escape(&c.path),
                human_bytes(c.old_size),
                human_bytes(c.new_size),
                escape(&c.what.join(", "))
            );
        }
        for (what, list) in [("added", &added), ("removed", &removed)] {
            for r in list.iter().take(limit) {
                let _ = write!(
                    out,
                    "<tr><td>{what}</td><td class=\"mono\">/{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&r.path),
                    human_bytes(r.size),
                    r.kind
                );
            }
        }
        out.push_str("</tbody></table></div></details>");
    }
    if !d.config.is_empty() {
        out.push_str("<h3>Config</h3><div class=\"scroll\"><table id=\"diff-config\"><thead><tr><th>Field</th><th>Old</th><th>New</th></tr></thead><tbody>");
        for c in &d.config {
            let _ = write!(
                out,
                "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                escape(&c.field),
                escape(c.old.as_deref().unwrap_or("(unset)")),
                escape(c.new.as_deref().unwrap_or("(unset)"))
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use customs_inventory::{Inventory, Package};
    use customs_vulndb::SeveritySource;

    use crate::{Subject, Timestamp};

    fn finding(name: &str, severity: Severity, summary: &str) -> Finding {
        Finding {
            id: "CVE-2020-0001".into(),
            aliases: vec![],
            package: Package {
                ecosystem: "npm".into(),
                name: name.into(),
                version: "1.0".into(),
                ..Package::default()
            },
            severity,
            severity_source: SeveritySource::none(),
            fix_status: FixStatus::NotFixed,
            fixed_versions: vec![],
            summary: summary.into(),
            source: "osv:npm".into(),
            references: vec![],
            ratings: vec![],
            kev: None,
            epss: None,
        }
    }

    #[test]
    fn hostile_strings_are_text_and_the_page_is_locked_down() {
        let subject = Subject {
            name: "evil\"><script>alert(1)</script>".into(),
            ..Subject::default()
        };
        let inventory = Inventory::default();
        let findings = vec![finding(
            "<img src=x onerror=alert(2)>",
            Severity::High,
            "</td></tr></table><script>alert(3)</script>",
        )];
        let info = DocumentInfo::new("t", Timestamp::from_unix_seconds(0).unwrap());
        let page = render(&Report {
            scan: Scan {
                subject: &subject,
                inventory: &inventory,
                findings: &findings,
                suppressed: 0,
            },
            info: &info,
            config: &[("User".into(), "<b>root</b>".into())],
            layers: &[],
            efficiency: None,
            audit: None,
            diff: None,
            fail_on: Severity::High,
        });
        // Exactly the one script of ours, and no tag from the data.
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>root"));
        assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"));
        assert!(page.contains("default-src 'none'"));
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(page.contains(r#"data-verdict="fail""#));
    }

    proptest::proptest! {
        #[test]
        fn no_string_breaks_out_of_the_markup(name in "\\PC{0,40}", summary in "[<>\"'&a-z/ =]{0,60}") {
            let e = escape(&name);
            proptest::prop_assert!(!e.contains(['<', '>', '"', '\'']));
            let subject = Subject { name: name.clone(), ..Subject::default() };
            let inventory = Inventory::default();
            let findings = vec![finding(&name, Severity::Medium, &summary)];
            let info = DocumentInfo::new("t", Timestamp::from_unix_seconds(0).unwrap());
            let page = render(&Report {
                scan: Scan { subject: &subject, inventory: &inventory, findings: &findings, suppressed: 0 },
                info: &info,
                config: &[(summary.clone(), name.clone())],
                layers: &[],
                efficiency: None,
                audit: None,
                diff: None,
                fail_on: Severity::High,
            });
            // Our own tags only: as many elements open as the page has without the data.
            let plain = render(&Report {
                scan: Scan { subject: &Subject { name: "x".into(), ..Subject::default() }, inventory: &inventory,
                    findings: &[finding("x", Severity::Medium, "x")], suppressed: 0 },
                info: &info,
                config: &[("x".into(), "x".into())],
                layers: &[],
                efficiency: None,
                audit: None,
                diff: None,
                fail_on: Severity::High,
            });
            proptest::prop_assert_eq!(page.matches('<').count(), plain.matches('<').count());
        }
    }

    #[test]
    fn escape_covers_quotes_and_controls() {
        assert_eq!(
            escape("a'b\"c&<>\u{1b}"),
            "a&#39;b&quot;c&amp;&lt;&gt;\u{FFFD}"
        );
    }

    #[test]
    fn verdicts() {
        let low = vec![finding("a", Severity::Low, "")];
        assert_eq!(verdict(&low, None, Severity::High).level, Level::Warn);
        assert_eq!(verdict(&[], None, Severity::High).level, Level::Pass);
        let mut kev = finding("a", Severity::Low, "");
        kev.kev = Some(customs_vulndb::Kev {
            date_added: "2024-01-01".into(),
            due_date: "2024-02-01".into(),
            ransomware: false,
        });
        assert_eq!(verdict(&[kev], None, Severity::High).level, Level::Fail);
        let audit = [AuditItem {
            severity: "HIGH".into(),
            ..AuditItem::default()
        }];
        assert_eq!(
            verdict(&[], Some(&audit), Severity::High).level,
            Level::Warn
        );
    }
}
