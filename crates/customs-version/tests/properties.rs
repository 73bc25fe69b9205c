//! Order properties every scheme must have over plausible versions (reflexive, antisymmetric,
//! transitive), and robustness over arbitrary input (no panic, `None` for junk).

use customs_version::{compare, parse, Scheme};
use proptest::prelude::*;
use std::cmp::Ordering;

/// Plausible versions of `scheme`, as regexes for proptest's string strategy.
fn plausible(scheme: Scheme) -> BoxedStrategy<String> {
    let patterns: &[&str] = match scheme {
        Scheme::Dpkg => &[r"([0-9]{1,2}:)?[0-9]{1,3}(\.[0-9a-z~+]{1,3}){0,3}(-[0-9a-z.~+]{1,4})?"],
        Scheme::Apk => &[
            r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]{0,2}){0,2}(~[0-9a-f]{1,4})?(-r[0-9]{1,2})?",
        ],
        Scheme::Rpm => &[r"([0-9]{1,2}:)?[0-9a-zA-Z.~^_+]{1,8}(-[0-9a-zA-Z.~^]{1,5})?"],
        Scheme::Pep440 => &[
            r"v?([0-9]!)?[0-9]{1,3}(\.[0-9]{1,3}){0,3}([-_.]?(a|b|c|rc|alpha|beta|pre|preview)[0-9]{0,2})?([-_.]?(post|rev|r)[0-9]{0,2})?([-_.]?dev[0-9]{0,2})?(\+[a-z0-9]{1,3}([-_.][a-z0-9]{1,3}){0,2})?",
            r"[a-z0-9.\-_]{1,8}",
        ],
        Scheme::Semver => &[
            r"[v=]?[0-9]{1,3}(\.[0-9]{1,3}(\.[0-9]{1,3})?)?(-[0-9A-Za-z-]{1,4}(\.[0-9A-Za-z-]{1,4}){0,2})?(\+[0-9a-z]{1,4})?",
        ],
        Scheme::Go => &[
            r"v?(0|[1-9][0-9]?)(\.(0|[1-9][0-9]?)(\.(0|[1-9][0-9]?))?)?",
            r"v?(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)(-(0|[1-9][0-9]?|[a-z][0-9a-z-]{0,3})(\.(0|[1-9][0-9]?|[a-z][0-9a-z]{0,3})){0,2})?(\+incompatible)?",
            r"v(0|[1-9])\.(0|[1-9])\.(0|[1-9])-(pre\.)?0\.20[0-9]{12}-[0-9a-f]{12}",
            r"go1(\.(0|[1-9][0-9]?)((alpha|beta|rc)[1-9]|\.(0|[1-9][0-9]?))?)?",
        ],
        Scheme::Maven => &[
            r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}([-.]?(alpha|beta|milestone|rc|cr|snapshot|ga|final|release|sp|a|b|m|foo)[-.]?[0-9]{0,2})?",
            r"[0-9]{1,2}[.-]?[0-9a-z.\-]{0,8}",
        ],
        Scheme::RubyGems => {
            &[r"[0-9]{1,2}(\.([0-9]{1,2}|[a-z]{1,3}|[a-z]{1,2}[0-9]{1,2})){0,4}(-[a-z0-9]{1,3})?"]
        }
        Scheme::NuGet => &[
            r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(-[0-9A-Za-z-]{1,4}(\.[0-9A-Za-z-]{1,4}){0,2})?(\+[a-z0-9]{1,3})?",
        ],
        Scheme::Composer => &[
            r"[vV]?[0-9]{1,2}(\.[0-9]{1,2}){0,3}([-_.]?(dev|alpha|a|beta|b|RC|rc|pl|p|patch|foo)[-_.]?[0-9]{0,2})?",
        ],
    };
    let strategies: Vec<BoxedStrategy<String>> = patterns
        .iter()
        .map(|p| proptest::string::string_regex(p).unwrap().boxed())
        .collect();
    proptest::strategy::Union::new(strategies).boxed()
}

fn cmp(scheme: Scheme, a: &str, b: &str) -> Ordering {
    compare(scheme, a, b).unwrap_or_else(|| panic!("{scheme:?}: {a:?} or {b:?} did not parse"))
}

/// Checks the order properties on one triple.
fn check_order(scheme: Scheme, a: &str, b: &str, c: &str) -> Result<(), TestCaseError> {
    for v in [a, b, c] {
        prop_assert_eq!(
            cmp(scheme, v, v),
            Ordering::Equal,
            "{:?} not equal to itself",
            v
        );
    }
    let ab = cmp(scheme, a, b);
    let bc = cmp(scheme, b, c);
    let ac = cmp(scheme, a, c);
    prop_assert_eq!(
        cmp(scheme, b, a),
        ab.reverse(),
        "antisymmetry of {:?} and {:?}",
        a,
        b
    );
    // Transitivity, including of equality.
    if ab == bc {
        prop_assert_eq!(ac, ab, "{:?} {:?} {:?} {:?} {:?}", a, ab, b, bc, c);
    }
    if ab == Ordering::Equal {
        prop_assert_eq!(ac, bc, "{:?} = {:?} but differ against {:?}", a, b, c);
    }
    if bc == Ordering::Equal {
        prop_assert_eq!(ac, ab, "{:?} = {:?} but differ against {:?}", b, c, a);
    }
    Ok(())
}

macro_rules! order_properties {
    ($($name:ident => $scheme:expr,)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            $(
                #[test]
                fn $name(
                    a in plausible($scheme),
                    b in plausible($scheme),
                    c in plausible($scheme),
                ) {
                    check_order($scheme, &a, &b, &c)?;
                }
            )*
        }
    };
}

order_properties! {
    dpkg_order_is_total => Scheme::Dpkg,
    apk_order_is_total => Scheme::Apk,
    rpm_order_is_total => Scheme::Rpm,
    pep440_order_is_total => Scheme::Pep440,
    semver_order_is_total => Scheme::Semver,
    go_order_is_total => Scheme::Go,
    maven_order_is_total => Scheme::Maven,
    rubygems_order_is_total => Scheme::RubyGems,
    nuget_order_is_total => Scheme::NuGet,
    composer_order_is_total => Scheme::Composer,
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>(), t in any::<String>()) {
        for scheme in Scheme::ALL {
            let parsed = parse(scheme, &s);
            let result = compare(scheme, &s, &t);
            if let Ok(v) = parsed {
                prop_assert_eq!(v.compare(&v), Some(Ordering::Equal));
            } else {
                prop_assert_eq!(result, None);
            }
        }
    }

    #[test]
    fn version_like_junk_never_panics(s in r"[0-9a-zA-Z.+~^_:!#=-]{0,24}", t in r"[0-9a-zA-Z.+~^_:!#=-]{0,24}") {
        for scheme in Scheme::ALL {
            let _ = compare(scheme, &s, &t);
        }
    }
}

#[test]
fn junk_is_rejected_where_the_scheme_has_a_grammar() {
    for scheme in [
        Scheme::Dpkg,
        Scheme::Semver,
        Scheme::Go,
        Scheme::NuGet,
        Scheme::RubyGems,
    ] {
        assert_eq!(
            compare(scheme, "not a version", "1.0.0"),
            None,
            "{scheme:?}"
        );
        assert_eq!(compare(scheme, "", "1.0.0"), None, "{scheme:?}");
    }
    for scheme in Scheme::ALL {
        assert_eq!(compare(scheme, "1.0 beta", "1.0"), None, "{scheme:?}");
    }
}

/// Strings close to SemVer 2.0.0, valid or not: leading zeros, short forms, empty identifiers.
const SEMVER_ISH: &str = r"[v]?(0|[1-9][0-9]?|0[0-9])(\.(0|[1-9][0-9]?|0[0-9])){0,3}(-([0-9A-Za-z-]{0,3})(\.[0-9A-Za-z-]{0,3}){0,2})?(\+[0-9A-Za-z.-]{0,4})?";

proptest! {
    /// The `semver` crate (crates.io's own parser) is the reference for strict SemVer.
    #[test]
    fn strict_semver_agrees_with_the_semver_crate(a in SEMVER_ISH, b in SEMVER_ISH) {
        use customs_version::semver::Version;
        let ours = (Version::parse_strict(&a), Version::parse_strict(&b));
        let theirs = (semver::Version::parse(&a), semver::Version::parse(&b));
        prop_assert_eq!(ours.0.is_some(), theirs.0.is_ok(), "acceptance of {:?}", a);
        prop_assert_eq!(ours.1.is_some(), theirs.1.is_ok(), "acceptance of {:?}", b);
        if let ((Some(x), Some(y)), (Ok(p), Ok(q))) = (&ours, &theirs) {
            prop_assert_eq!(x.cmp(y), p.cmp_precedence(q), "{:?} vs {:?}", a, b);
            // The lenient parser orders strict versions the same way.
            prop_assert_eq!(compare(Scheme::Semver, &a, &b), Some(p.cmp_precedence(q)));
        }
    }
}
