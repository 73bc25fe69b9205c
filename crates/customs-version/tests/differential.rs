//! Random version pairs ordered by the reference implementations themselves (real dpkg, Python
//! `packaging`); see `tests/data/README.md` for how they were made.

mod common;

use customs_version::Scheme;

fn data(file: &str) -> String {
    format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn dpkg_orders_random_versions_like_real_dpkg() {
    common::check(Scheme::Dpkg, &data("dpkg-differential.txt"));
}

#[test]
fn pep440_orders_random_versions_like_python_packaging() {
    common::check(Scheme::Pep440, &data("pep440-differential.txt"));
}

#[test]
fn rpm_orders_random_versions_like_real_rpm() {
    common::check(Scheme::Rpm, &data("rpm-differential.txt"));
}

#[test]
fn maven_orders_random_versions_like_maven_artifact() {
    common::check(Scheme::Maven, &data("maven-differential.txt"));
}
