//! Runs every line of the OSV version-ordering corpus in `shared/versions/` (copied from
//! google/osv-scalibr `semantic/testdata`, plus a Go file written for customs) through
//! `compare`, in both directions, as the upstream `semantic/compare_test.go` does.

use customs_version::{compare, parse_ok, Scheme};
use std::cmp::Ordering;

fn corpus(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/versions/").to_owned() + name;
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Checks every comparison line of `file` under `scheme` and fails once, listing every
/// failing line.
fn check(scheme: Scheme, file: &str) {
    let text = corpus(file);
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

#[test]
fn alpine_hand_written_cases_order_like_apk() {
    check(Scheme::Apk, "alpine-versions.txt");
}

#[test]
fn alpine_real_versions_order_like_apk() {
    check(Scheme::Apk, "alpine-versions-generated.txt");
}

#[test]
fn debian_hand_written_cases_order_like_dpkg() {
    check(Scheme::Dpkg, "debian-versions.txt");
}

#[test]
fn debian_real_versions_order_like_dpkg() {
    check(Scheme::Dpkg, "debian-versions-generated.txt");
}

#[test]
fn redhat_cases_order_like_rpmvercmp() {
    check(Scheme::Rpm, "redhat-versions.txt");
}

#[test]
fn pypi_hand_written_cases_order_like_packaging() {
    check(Scheme::Pep440, "pypi-versions.txt");
}

#[test]
fn pypi_real_versions_order_like_packaging() {
    check(Scheme::Pep440, "pypi-versions-generated.txt");
}

#[test]
fn semver_cases_order_by_semver_precedence() {
    check(Scheme::Semver, "semver-versions.txt");
}

#[test]
fn go_module_and_toolchain_cases_order_like_go() {
    check(Scheme::Go, "go-versions.txt");
}

#[test]
fn maven_hand_written_cases_order_like_comparable_version() {
    check(Scheme::Maven, "maven-versions.txt");
}

#[test]
fn maven_real_versions_order_like_comparable_version() {
    check(Scheme::Maven, "maven-versions-generated.txt");
}

#[test]
fn nuget_cases_order_like_nuget() {
    check(Scheme::NuGet, "nuget-versions.txt");
}

#[test]
fn packagist_hand_written_cases_order_like_version_compare() {
    check(Scheme::Composer, "packagist-versions.txt");
}

#[test]
fn packagist_real_versions_order_like_version_compare() {
    check(Scheme::Composer, "packagist-versions-generated.txt");
}

#[test]
fn rubygems_hand_written_cases_order_like_gem_version() {
    check(Scheme::RubyGems, "rubygems-versions.txt");
}

#[test]
fn rubygems_real_versions_order_like_gem_version() {
    check(Scheme::RubyGems, "rubygems-versions-generated.txt");
}
