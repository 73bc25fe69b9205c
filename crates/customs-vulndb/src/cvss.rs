//! CVSS base scores computed from vector strings: v3.0 and v3.1 (FIRST specification section 7)
//! and v4.0 (MacroVector lookup with interpolation, FIRST specification section 8).

use crate::cvss4_table::MACROVECTOR_SCORES;
use crate::finding::Severity;
use std::collections::HashMap;

/// Why a vector could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    #[error("not a CVSS vector: {0}")]
    NotAVector(String),
    #[error("unsupported CVSS version in {0}")]
    UnsupportedVersion(String),
    #[error("CVSS vector {vector}: {problem}")]
    Invalid { vector: String, problem: String },
}

/// The computed base score of a vector, with the version it was read as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CvssScore {
    /// `3.0`, `3.1` or `4.0`, as the vector's prefix says.
    pub version: CvssVersion,
    pub score: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvssVersion {
    V3_0,
    V3_1,
    V4_0,
}

/// Scores a `CVSS:3.x/...` or `CVSS:4.0/...` vector.
pub fn base_score(vector: &str) -> Result<CvssScore, CvssError> {
    let vector = vector.trim();
    let (prefix, rest) = vector
        .split_once('/')
        .ok_or_else(|| CvssError::NotAVector(vector.to_string()))?;
    let version = match prefix {
        "CVSS:3.0" => CvssVersion::V3_0,
        "CVSS:3.1" => CvssVersion::V3_1,
        "CVSS:4.0" => CvssVersion::V4_0,
        p if p.starts_with("CVSS:") => {
            return Err(CvssError::UnsupportedVersion(vector.to_string()))
        }
        _ => return Err(CvssError::NotAVector(vector.to_string())),
    };
    let metrics = parse_metrics(vector, rest)?;
    let score = match version {
        CvssVersion::V3_0 | CvssVersion::V3_1 => v3_score(vector, &metrics, version)?,
        CvssVersion::V4_0 => v4_score(vector, &metrics)?,
    };
    Ok(CvssScore { version, score })
}

/// The qualitative rating of a score (FIRST: None 0.0, Low 0.1-3.9, Medium 4.0-6.9, High
/// 7.0-8.9, Critical 9.0-10.0). A 0.0 score has no bucket of its own here and maps to
/// `Unknown`.
pub fn severity_of(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Unknown
    }
}

fn parse_metrics<'a>(vector: &str, rest: &'a str) -> Result<HashMap<&'a str, &'a str>, CvssError> {
    let mut metrics = HashMap::new();
    for part in rest.split('/') {
        let (name, value) = part
            .split_once(':')
            .ok_or_else(|| invalid(vector, "metric without a value"))?;
        if metrics.insert(name, value).is_some() {
            return Err(invalid(vector, &format!("metric {name} given twice")));
        }
    }
    Ok(metrics)
}

fn invalid(vector: &str, problem: &str) -> CvssError {
    CvssError::Invalid {
        vector: vector.to_string(),
        problem: problem.to_string(),
    }
}

fn pick(
    vector: &str,
    metrics: &HashMap<&str, &str>,
    name: &str,
    table: &[(&str, f64)],
) -> Result<f64, CvssError> {
    let value = metrics
        .get(name)
        .ok_or_else(|| invalid(vector, &format!("missing {name}")))?;
    table
        .iter()
        .find(|(v, _)| v == value)
        .map(|(_, w)| *w)
        .ok_or_else(|| invalid(vector, &format!("bad value {name}:{value}")))
}

fn v3_score(vector: &str, m: &HashMap<&str, &str>, version: CvssVersion) -> Result<f64, CvssError> {
    let changed = match m.get("S") {
        Some(&"U") => false,
        Some(&"C") => true,
        _ => return Err(invalid(vector, "missing or bad S")),
    };
    let av = pick(
        vector,
        m,
        "AV",
        &[("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2)],
    )?;
    let ac = pick(vector, m, "AC", &[("L", 0.77), ("H", 0.44)])?;
    let pr_table: &[(&str, f64)] = if changed {
        &[("N", 0.85), ("L", 0.68), ("H", 0.5)]
    } else {
        &[("N", 0.85), ("L", 0.62), ("H", 0.27)]
    };
    let pr = pick(vector, m, "PR", pr_table)?;
    let ui = pick(vector, m, "UI", &[("N", 0.85), ("R", 0.62)])?;
    let cia: &[(&str, f64)] = &[("H", 0.56), ("L", 0.22), ("N", 0.0)];
    let c = pick(vector, m, "C", cia)?;
    let i = pick(vector, m, "I", cia)?;
    let a = pick(vector, m, "A", cia)?;

    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Ok(match version {
        CvssVersion::V3_0 => (raw * 10.0).ceil() / 10.0,
        _ => roundup_v31(raw),
    })
}

/// CVSS v3.1 Appendix A `Roundup`: the smallest one-decimal number >= the input, computed on
/// integers so that floating point noise does not push a score up.
fn roundup_v31(input: f64) -> f64 {
    let int_input = (input * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// The effective (modified where given, else base) value of each v4 metric used in scoring.
struct V4 {
    av: char,
    ac: char,
    at: char,
    pr: char,
    ui: char,
    vc: char,
    vi: char,
    va: char,
    sc: char,
    si: char,
    sa: char,
    e: char,
    cr: char,
    ir: char,
    ar: char,
}

const V4_BASE: &[(&str, &str)] = &[
    ("AV", "NALP"),
    ("AC", "LH"),
    ("AT", "NP"),
    ("PR", "NLH"),
    ("UI", "NPA"),
    ("VC", "HLN"),
    ("VI", "HLN"),
    ("VA", "HLN"),
    ("SC", "HLN"),
    ("SI", "HLN"),
    ("SA", "HLN"),
];

const V4_OPTIONAL: &[(&str, &str)] = &[
    ("E", "XAPU"),
    ("CR", "XHML"),
    ("IR", "XHML"),
    ("AR", "XHML"),
    ("MAV", "XNALP"),
    ("MAC", "XLH"),
    ("MAT", "XNP"),
    ("MPR", "XNLH"),
    ("MUI", "XNPA"),
    ("MVC", "XHLN"),
    ("MVI", "XHLN"),
    ("MVA", "XHLN"),
    ("MSC", "XHLN"),
    ("MSI", "XSHLN"),
    ("MSA", "XSHLN"),
    ("S", "XNP"),
    ("AU", "XNY"),
    ("R", "XAUI"),
    ("V", "XDC"),
    ("RE", "XLMH"),
    ("U", "X"),
];

fn v4_metrics(vector: &str, m: &HashMap<&str, &str>) -> Result<V4, CvssError> {
    for name in m.keys() {
        let known = V4_BASE.iter().chain(V4_OPTIONAL).find(|(n, _)| n == name);
        let Some((_, allowed)) = known else {
            return Err(invalid(vector, &format!("unknown metric {name}")));
        };
        let value = m[name];
        // `U` (Provider Urgency) takes words: Clear, Green, Amber, Red.
        let ok = if *name == "U" {
            matches!(value, "X" | "Clear" | "Green" | "Amber" | "Red")
        } else {
            value.len() == 1 && allowed.contains(value)
        };
        if !ok {
            return Err(invalid(vector, &format!("bad value {name}:{value}")));
        }
    }
    let get = |name: &str| -> Result<char, CvssError> {
        let base = m
            .get(name)
            .ok_or_else(|| invalid(vector, &format!("missing {name}")))?;
        let modified = m.get(format!("M{name}").as_str()).copied().unwrap_or("X");
        let v = if modified == "X" { base } else { &modified };
        Ok(v.chars().next().unwrap_or('X'))
    };
    let opt = |name: &str, default: char| -> char {
        match m.get(name).and_then(|v| v.chars().next()) {
            Some('X') | None => default,
            Some(c) => c,
        }
    };
    Ok(V4 {
        av: get("AV")?,
        ac: get("AC")?,
        at: get("AT")?,
        pr: get("PR")?,
        ui: get("UI")?,
        vc: get("VC")?,
        vi: get("VI")?,
        va: get("VA")?,
        sc: get("SC")?,
        si: get("SI")?,
        sa: get("SA")?,
        e: opt("E", 'A'),
        cr: opt("CR", 'H'),
        ir: opt("IR", 'H'),
        ar: opt("AR", 'H'),
    })
}

impl V4 {
    fn eqs(&self) -> [u8; 6] {
        let eq1 = if self.av == 'N' && self.pr == 'N' && self.ui == 'N' {
            0
        } else if (self.av == 'N' || self.pr == 'N' || self.ui == 'N') && self.av != 'P' {
            1
        } else {
            2
        };
        let eq2 = if self.ac == 'L' && self.at == 'N' {
            0
        } else {
            1
        };
        let eq3 = if self.vc == 'H' && self.vi == 'H' {
            0
        } else if self.vc == 'H' || self.vi == 'H' || self.va == 'H' {
            1
        } else {
            2
        };
        let eq4 = if self.si == 'S' || self.sa == 'S' {
            0
        } else if self.sc == 'H' || self.si == 'H' || self.sa == 'H' {
            1
        } else {
            2
        };
        let eq5 = match self.e {
            'A' => 0,
            'P' => 1,
            _ => 2,
        };
        let eq6 = if (self.cr == 'H' && self.vc == 'H')
            || (self.ir == 'H' && self.vi == 'H')
            || (self.ar == 'H' && self.va == 'H')
        {
            0
        } else {
            1
        };
        [eq1, eq2, eq3, eq4, eq5, eq6]
    }

    fn value_of(&self, metric: &str) -> char {
        match metric {
            "AV" => self.av,
            "AC" => self.ac,
            "AT" => self.at,
            "PR" => self.pr,
            "UI" => self.ui,
            "VC" => self.vc,
            "VI" => self.vi,
            "VA" => self.va,
            "SC" => self.sc,
            "SI" => self.si,
            "SA" => self.sa,
            "CR" => self.cr,
            "IR" => self.ir,
            "AR" => self.ar,
            _ => self.e,
        }
    }
}

/// Severity level of a metric value, in tenths: the distance unit of the v4 interpolation.
fn level(metric: &str, value: char) -> f64 {
    let table: &[(char, f64)] = match metric {
        "AV" => &[('N', 0.0), ('A', 0.1), ('L', 0.2), ('P', 0.3)],
        "PR" => &[('N', 0.0), ('L', 0.1), ('H', 0.2)],
        "UI" => &[('N', 0.0), ('P', 0.1), ('A', 0.2)],
        "AC" => &[('L', 0.0), ('H', 0.1)],
        "AT" => &[('N', 0.0), ('P', 0.1)],
        "VC" | "VI" | "VA" => &[('H', 0.0), ('L', 0.1), ('N', 0.2)],
        "SC" => &[('H', 0.1), ('L', 0.2), ('N', 0.3)],
        "SI" | "SA" => &[('S', 0.0), ('H', 0.1), ('L', 0.2), ('N', 0.3)],
        "CR" | "IR" | "AR" => &[('H', 0.0), ('M', 0.1), ('L', 0.2)],
        _ => &[],
    };
    table
        .iter()
        .find(|(c, _)| *c == value)
        .map(|(_, l)| *l)
        .unwrap_or(0.0)
}

/// The highest-severity vectors of each equivalence class, per level (FIRST's
/// "max composed" table): each string lists metric:value pairs.
fn max_vectors(eq: usize, level: u8, eq6: u8) -> &'static [&'static str] {
    match (eq, level, eq6) {
        (1, 0, _) => &["AV:N/PR:N/UI:N"],
        (1, 1, _) => &["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"],
        (1, 2, _) => &["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"],
        (2, 0, _) => &["AC:L/AT:N"],
        (2, 1, _) => &["AC:H/AT:N", "AC:L/AT:P"],
        (3, 0, 0) => &["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"],
        (3, 0, 1) => &[
            "VC:H/VI:H/VA:L/CR:M/IR:M/AR:H",
            "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M",
        ],
        (3, 1, 0) => &[
            "VC:L/VI:H/VA:H/CR:H/IR:H/AR:H",
            "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H",
        ],
        (3, 1, 1) => &[
            "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H",
            "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
            "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
            "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
            "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M",
        ],
        (3, 2, 1) => &["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"],
        (4, 0, _) => &["SC:H/SI:S/SA:S"],
        (4, 1, _) => &["SC:H/SI:H/SA:H"],
        (4, 2, _) => &["SC:L/SI:L/SA:L"],
        _ => &[],
    }
}

/// Largest severity distance (in tenths, +1) inside each equivalence class level.
fn max_severity(eq: usize, level: u8, eq6: u8) -> f64 {
    let steps = match (eq, level, eq6) {
        (1, 0, _) => 1,
        (1, 1, _) => 4,
        (1, 2, _) => 5,
        (2, 0, _) => 1,
        (2, 1, _) => 2,
        (3, 0, 0) => 7,
        (3, 0, 1) => 6,
        (3, 1, _) => 8,
        (3, 2, _) => 10,
        (4, 0, _) => 6,
        (4, 1, _) => 5,
        (4, 2, _) => 4,
        _ => 1,
    };
    f64::from(steps) * 0.1
}

fn lookup(eqs: [u8; 6]) -> Option<f64> {
    let key: String = eqs.iter().map(|d| char::from(b'0' + d)).collect();
    MACROVECTOR_SCORES
        .binary_search_by(|(k, _)| (*k).cmp(key.as_str()))
        .ok()
        .map(|i| MACROVECTOR_SCORES[i].1)
}

fn v4_score(vector: &str, m: &HashMap<&str, &str>) -> Result<f64, CvssError> {
    let v = v4_metrics(vector, m)?;
    if [v.vc, v.vi, v.va, v.sc, v.si, v.sa]
        .iter()
        .all(|c| *c == 'N')
    {
        return Ok(0.0);
    }
    let eqs = v.eqs();
    let value = lookup(eqs).ok_or_else(|| invalid(vector, "no score for its MacroVector"))?;
    let [eq1, eq2, eq3, eq4, eq5, eq6] = eqs;

    // Scores of the next lower MacroVector along each equivalence class.
    let lower = |idx: usize| {
        let mut next = eqs;
        next[idx] += 1;
        lookup(next)
    };
    let lower_eq1 = lower(0);
    let lower_eq2 = lower(1);
    let lower_eq3eq6 = match (eq3, eq6) {
        (0, 0) => {
            let left = lower(5);
            let right = lower(2);
            match (left, right) {
                (Some(l), Some(r)) => Some(l.max(r)),
                (l, r) => l.or(r),
            }
        }
        (1, 0) => lower(5),
        (_, 1) => lower(2),
        _ => None,
    };
    let lower_eq4 = lower(3);
    let lower_eq5 = lower(4);

    // The highest-severity vector of this MacroVector that the vector does not exceed.
    let mut distances = None;
    'search: for a in max_vectors(1, eq1, 0) {
        for b in max_vectors(2, eq2, 0) {
            for c in max_vectors(3, eq3, eq6) {
                for d in max_vectors(4, eq4, 0) {
                    let mut dist: HashMap<&str, f64> = HashMap::new();
                    let mut all_nonnegative = true;
                    for pair in [*a, *b, *c, *d].iter().flat_map(|m| m.split('/')) {
                        let (metric, mv) = pair.split_once(':').unwrap_or((pair, ""));
                        let mv = mv.chars().next().unwrap_or('X');
                        let d = level(metric, v.value_of(metric)) - level(metric, mv);
                        if d < -1e-9 {
                            all_nonnegative = false;
                            break;
                        }
                        dist.insert(metric, d);
                    }
                    if all_nonnegative {
                        distances = Some(dist);
                        break 'search;
                    }
                }
            }
        }
    }
    let dist = distances.ok_or_else(|| invalid(vector, "no maximal vector found"))?;
    let sum = |names: &[&str]| {
        names
            .iter()
            .map(|n| dist.get(n).copied().unwrap_or(0.0))
            .sum::<f64>()
    };
    let current = [
        sum(&["AV", "PR", "UI"]),
        sum(&["AC", "AT"]),
        sum(&["VC", "VI", "VA", "CR", "IR", "AR"]),
        sum(&["SC", "SI", "SA"]),
        0.0,
    ];
    let max_sev = [
        max_severity(1, eq1, eq6),
        max_severity(2, eq2, eq6),
        max_severity(3, eq3, eq6),
        max_severity(4, eq4, eq6),
        0.1,
    ];
    let lowers = [lower_eq1, lower_eq2, lower_eq3eq6, lower_eq4, lower_eq5];
    let _ = eq5;

    let mut existing = 0u32;
    let mut total = 0.0;
    for i in 0..5 {
        if let Some(low) = lowers[i] {
            existing += 1;
            let available = value - low;
            total += available * (current[i] / max_sev[i]);
        }
    }
    let mean = if existing == 0 {
        0.0
    } else {
        total / f64::from(existing)
    };
    let score = (value - mean).clamp(0.0, 10.0);
    Ok(((score + 1e-6) * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v31_roundup_avoids_float_noise() {
        assert_eq!(roundup_v31(4.000_000_01), 4.0);
        assert_eq!(roundup_v31(4.02), 4.1);
    }

    #[test]
    fn lookup_table_has_every_macrovector() {
        assert_eq!(MACROVECTOR_SCORES.len(), 270);
        assert_eq!(lookup([0, 0, 0, 0, 0, 0]), Some(10.0));
        assert_eq!(lookup([2, 1, 2, 2, 2, 1]), Some(0.1));
        assert_eq!(lookup([0, 0, 2, 0, 0, 0]), None);
    }
}
