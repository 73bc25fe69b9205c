//! Runs a file of `A OP B` lines (the format of `shared/versions/`) through `compare`, in both
//! directions, failing once with every failing line listed.

use customs_version::{compare, parse_ok, Scheme};
use std::cmp::Ordering;

/// Checks every comparison line of the file at `path` under `scheme`.
pub fn check(scheme: Scheme, path: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let file = path.rsplit('/').next().unwrap_or(path);
    let mut failures = Vec::new();
    let mut cases = 0;
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with("# ") || line.starts_with("// ") {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let [a, op, b] = fields[..] else {
            panic!("{file}:{}: not `A OP B`: {line:?}", n + 1);
        };
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{file}:{}: unknown operator {op:?}", n + 1),
        };
        cases += 1;
        let problem = if !parse_ok(scheme, a) || !parse_ok(scheme, b) {
            Some(format!(
                "does not parse ({a:?}: {}, {b:?}: {})",
                parse_ok(scheme, a),
                parse_ok(scheme, b)
            ))
        } else {
            let forward = compare(scheme, a, b);
            let backward = compare(scheme, b, a);
            if forward != Some(want) || backward != Some(want.reverse()) {
                Some(format!("got {forward:?} forward, {backward:?} backward"))
            } else {
                None
            }
        };
        if let Some(problem) = problem {
            failures.push(format!("{file}:{}: {line}: {problem}", n + 1));
        }
    }
    assert!(cases > 0, "{file} has no cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
