//! RubyGems packages: installed `specifications/*.gemspec` files, and the default gems Ruby
//! itself installs in `specifications/default/*.gemspec` (Ruby source, read for the
//! `name`, `version`, `platform` and `licenses` assignments without evaluating anything) and
//! `Gemfile.lock` (`GEM`, `PATH` and `GIT` specs).

use std::collections::BTreeSet;

use crate::Purl;
use crate::{ExtractError, Package};

const ECOSYSTEM: &str = "RubyGems";

/// Whether `path` is an installed gemspec (`…/specifications/<name>-<version>.gemspec`, or
/// `…/specifications/default/<name>-<version>.gemspec` for Ruby's default gems) or a
/// `Gemfile.lock` / `gems.locked`.
pub fn matches(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        [.., "Gemfile.lock"] | [.., "gems.locked"] => true,
        [.., "specifications", file] | [.., "specifications", "default", file] => {
            file.ends_with(".gemspec")
        }
        _ => false,
    }
}

/// Reads a file accepted by [`matches`].
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    if path.ends_with(".gemspec") {
        parse_gemspec(path, data).map(|p| vec![p])
    } else {
        parse_gemfile_lock(path, data)
    }
}

/// Reads an installed gemspec: the `<var>.name = "..."` and `<var>.version = "..."` (or
/// `Gem::Version.new("...")`) assignments, plus `license`/`licenses` and `platform`.
/// Dependency declarations are not packages.
pub fn parse_gemspec(path: &str, data: &[u8]) -> Result<Package, ExtractError> {
    let text = String::from_utf8_lossy(data);
    let (mut name, mut version, mut platform) = (None, None, None);
    let mut licenses = Vec::new();
    for line in text.lines() {
        let Some((attr, rhs)) = assignment(line) else {
            continue;
        };
        match attr {
            "name" if name.is_none() => name = string_literals(rhs).into_iter().next(),
            "version" if version.is_none() => version = string_literals(rhs).into_iter().next(),
            "platform" if platform.is_none() => platform = string_literals(rhs).into_iter().next(),
            "license" | "licenses" if licenses.is_empty() => licenses = string_literals(rhs),
            _ => {}
        }
    }
    let (Some(name), Some(version)) = (name, version) else {
        return Err(ExtractError::malformed(
            "gemspec",
            "no name and version assignments",
        ));
    };
    if name.is_empty() || version.is_empty() {
        return Err(ExtractError::malformed("gemspec", "empty name or version"));
    }
    let platform = platform.filter(|p| p != "ruby");
    let mut pkg = gem(&name, &version, platform.as_deref(), "gemspec", path);
    pkg.licenses = licenses;
    Ok(pkg)
}

/// `s.name = ...` -> (`name`, `...`): a receiver identifier, a dot, an attribute and `=` (not
/// `==`). Leading whitespace is allowed; anything else on the left is not an assignment.
fn assignment(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    let (lhs, rhs) = line.split_once('=')?;
    if rhs.starts_with(['=', '~']) {
        return None;
    }
    let (receiver, attr) = lhs.trim_end().split_once('.')?;
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (ident(receiver) && ident(attr)).then_some((attr, rhs.trim()))
}

/// The Ruby string literals in an expression: `"..."`, `'...'`, `%q{...}`/`%q<...>`/`%q(...)`/
/// `%q[...]`. Backslash escapes are kept minimal (the escaped character is taken as is).
fn string_literals(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let close = match c {
            '"' | '\'' => c,
            '%' if expr[i..].starts_with("%q") || expr[i..].starts_with("%Q") => {
                chars.next();
                match chars.next() {
                    Some((_, '{')) => '}',
                    Some((_, '<')) => '>',
                    Some((_, '(')) => ')',
                    Some((_, '[')) => ']',
                    Some((_, d)) if !d.is_alphanumeric() && !d.is_whitespace() => d,
                    _ => continue,
                }
            }
            '#' => break,
            _ => continue,
        };
        let mut s = String::new();
        let mut closed = false;
        while let Some((_, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, e)) = chars.next() {
                        s.push(e);
                    }
                }
                c if c == close => {
                    closed = true;
                    break;
                }
                c => s.push(c),
            }
        }
        if closed {
            out.push(s);
        }
    }
    out
}

/// Reads a `Gemfile.lock`: every spec line (four-space indent, `name (version)`) under the
/// `GEM`, `PATH` and `GIT` sections. A platform suffix (`1.13.3-x86_64-linux`) is split off the
/// version into the purl's `platform` qualifier. Each distinct name, version and platform is
/// reported once.
pub fn parse_gemfile_lock(path: &str, data: &[u8]) -> Result<Vec<Package>, ExtractError> {
    let text = String::from_utf8_lossy(data);
    let mut in_source = false;
    let mut in_specs = false;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !line.starts_with(' ') {
            if !line.trim().is_empty() {
                in_source = matches!(line.trim_end(), "GEM" | "PATH" | "GIT");
                in_specs = false;
            }
            continue;
        }
        if !in_source {
            continue;
        }
        if let Some(rest) = line.strip_prefix("  ").filter(|r| !r.starts_with(' ')) {
            in_specs = rest.trim_end() == "specs:";
            continue;
        }
        let Some(spec) = line.strip_prefix("    ").filter(|r| !r.starts_with(' ')) else {
            continue;
        };
        if !in_specs {
            continue;
        }
        let Some((name, rest)) = spec.trim_end().split_once(" (") else {
            continue;
        };
        let Some(full) = rest.strip_suffix(')') else {
            continue;
        };
        let (version, platform) = match full.split_once('-') {
            Some((v, p)) => (v, Some(p)),
            None => (full, None),
        };
        if name.is_empty() || version.is_empty() {
            continue;
        }
        if seen.insert((
            name.to_string(),
            version.to_string(),
            platform.map(str::to_string),
        )) {
            out.push(gem(name, version, platform, "gemfile-lock", path));
        }
    }
    Ok(out)
}

fn gem(name: &str, version: &str, platform: Option<&str>, found_by: &str, path: &str) -> Package {
    Package {
        ecosystem: ECOSYSTEM.into(),
        name: name.to_string(),
        version: version.to_string(),
        purl: Purl::new(
            "gem",
            None,
            name,
            version,
            &[("platform", platform.unwrap_or(""))],
        ),
        found_by: found_by.to_string(),
        locations: vec![format!("/{}", path.trim_start_matches('/'))],
        ..Package::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literal_forms() {
        assert_eq!(string_literals(r#""rss".freeze"#), ["rss"]);
        assert_eq!(
            string_literals(r#"["MIT".freeze, 'Ruby']"#),
            ["MIT", "Ruby"]
        );
        assert_eq!(string_literals(r#"Gem::Version.new("1.2.3")"#), ["1.2.3"]);
        assert_eq!(string_literals("%q{abc}.freeze"), ["abc"]);
        assert_eq!(string_literals(r#""a\"b""#), ["a\"b"]);
        assert_eq!(string_literals(r#""unterminated"#), Vec::<String>::new());
        assert_eq!(string_literals(r#"x # "comment""#), Vec::<String>::new());
    }

    #[test]
    fn gemspec_with_gem_version_and_platform() {
        let spec = b"Gem::Specification.new do |spec|\n  spec.name = %q<nokogiri>\n  spec.version = Gem::Version.new(\"1.13.3\")\n  spec.platform = \"x86_64-linux\".freeze\n  spec.license = \"MIT\"\n  spec.name == \"ignored\"\nend\n";
        let p = parse_gemspec("specifications/nokogiri-1.13.3-x86_64-linux.gemspec", spec).unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("nokogiri", "1.13.3")
        );
        assert_eq!(
            p.purl_string(),
            "pkg:gem/nokogiri@1.13.3?platform=x86_64-linux"
        );
        assert_eq!(p.licenses, ["MIT"]);
    }

    #[test]
    fn gemspec_without_name_is_malformed() {
        assert!(parse_gemspec("x.gemspec", b"s.version = \"1\"\n").is_err());
    }

    #[test]
    fn gemfile_lock_ignores_dependency_lines_and_other_sections() {
        let lock = "GIT\n  remote: https://example.invalid/x.git\n  revision: abc\n  specs:\n    x (0.1.0)\n      y (>= 1)\n\nPLATFORMS\n    ruby\n\nDEPENDENCIES\n    x!\n";
        let pkgs = parse_gemfile_lock("Gemfile.lock", lock.as_bytes()).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("x", "0.1.0")
        );
    }

    #[test]
    fn matches_gemspecs_and_lockfiles() {
        assert!(matches(
            "usr/lib/ruby/gems/3.1.0/specifications/rss-0.2.9.gemspec"
        ));
        assert!(matches("app/Gemfile.lock"));
        assert!(!matches("app/rss.gemspec"));
    }
}
