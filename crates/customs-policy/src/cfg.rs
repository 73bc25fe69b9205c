//! The policy file's schema: `[vulnerabilities]`, `[signatures]`, `[attestations]`,
//! `[registries]` (with `[registries.base]`) and `[audit]`. Unknown keys, unknown severities,
//! unknown audit rule ids and unknown attestation types are errors that name the line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use customs_audit::Severity;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("reading policy {path}: {source}")]
    Read {
        /// The policy path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, or a key or value the schema does not allow. The message is toml's,
    /// which names the line and column.
    #[error("policy {origin}: {message}")]
    Parse {
        /// Where the policy came from.
        origin: String,
        /// toml's report, with line and column.
        message: String,
    },
    /// Well-formed, but a value names something that does not exist.
    #[error("policy {origin}, line {line}: {message}")]
    Invalid {
        /// Where the policy came from.
        origin: String,
        /// 1-based line of the offending value.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// A whole policy. Every section is optional; an absent section checks nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `[vulnerabilities]`.
    pub vulnerabilities: Option<Vulnerabilities>,
    /// `[signatures]`.
    pub signatures: Option<Signatures>,
    /// `[attestations]`.
    pub attestations: Option<Attestations>,
    /// `[registries]`.
    pub registries: Option<Registries>,
    /// `[audit]`.
    pub audit: Option<Audit>,
}

/// `[vulnerabilities]`: what the scan may find.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vulnerabilities {
    /// Highest severity allowed; a finding above it is a violation. Unset: any severity.
    #[serde(default, deserialize_with = "vuln_severity")]
    pub max_severity: Option<Severity>,
    /// Leave out findings that have no fixed version.
    #[serde(default)]
    pub ignore_unfixed: bool,
    /// Most findings allowed (after `ignore` and `ignore_unfixed`). Unset: any number.
    pub max_count: Option<usize>,
    /// Advisory ids (or aliases) that never count.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// What `max_severity` does with a finding no source rates: `fail` (the default: an
    /// unrated finding is a violation, since it may be critical) or `pass` (it is let through,
    /// and `customs check` prints how many were).
    #[serde(default)]
    pub unknown: UnknownRule,
    /// A finding in CISA's Known Exploited Vulnerabilities catalogue is a violation.
    #[serde(default)]
    pub fail_on_kev: bool,
    /// Highest EPSS score allowed (0 to 1); a finding above it is a violation.
    pub max_epss: Option<f64>,
}

/// `vulnerabilities.unknown`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownRule {
    /// An unrated finding violates `max_severity`.
    #[default]
    Fail,
    /// An unrated finding passes `max_severity`.
    Pass,
}

/// `[signatures]`: keyed cosign signatures the image must carry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatures {
    /// Public keys (PEM), each of which must verify a signature. Relative paths are relative
    /// to the policy file's directory.
    #[serde(default)]
    pub required_keys: Vec<PathBuf>,
}

/// `[attestations]`: in-toto attestations the image must carry, signed with `key`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestations {
    /// Predicate types (`cyclonedx`, `slsaprovenance1`, ... or a URI), each of which must
    /// verify.
    #[serde(default)]
    pub required_types: Vec<Spanned<String>>,
    /// The public key the attestations must verify with; relative to the policy's directory.
    pub key: PathBuf,
}

/// `[registries]`: where the image and its base may come from, and how old it may be.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registries {
    /// Registry hosts or repository prefixes (`ghcr.io/org`) the image must be named from.
    /// Unset: no check; empty: nothing is trusted.
    pub trusted: Option<Vec<String>>,
    /// Oldest acceptable image, in days since it was built.
    pub max_age_days: Option<u64>,
    /// `[registries.base]`: the base image named by `org.opencontainers.image.base.name`.
    pub base: Option<BaseRegistries>,
}

/// `[registries.base]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseRegistries {
    /// Registry hosts or repository prefixes the base must come from.
    #[serde(default)]
    pub trusted: Vec<String>,
    /// Fail when the image does not name its base at all.
    #[serde(default)]
    pub required: bool,
}

/// `[audit]`: the best-practice audit and which of its findings fail the gate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// Run the audit at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Per-rule setting: `"off"`, `"on"`, or a severity that replaces the rule's default.
    #[serde(default)]
    pub rules: BTreeMap<Spanned<String>, RuleSetting>,
    /// Findings at or above this severity are violations.
    #[serde(default = "default_fail_on", deserialize_with = "audit_severity")]
    pub fail_on: Severity,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            enabled: true,
            rules: BTreeMap::new(),
            fail_on: default_fail_on(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_fail_on() -> Severity {
    Severity::High
}

/// `max_severity`: a vulnerability severity in any case (`high`, `HIGH`); `info` is an
/// audit level that no vulnerability has, so it is refused rather than read as "anything".
fn vuln_severity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Severity>, D::Error> {
    let s = String::deserialize(d)?;
    match Severity::parse(&s) {
        Some(v) if v != Severity::Info => Ok(Some(v)),
        _ => Err(serde::de::Error::custom(format!(
            "{s:?} is not a severity (unknown, low, medium, high, critical)"
        ))),
    }
}

/// `fail_on`: an audit severity in any case (`medium`, `MEDIUM`); audit findings are always
/// rated, so `unknown` is refused.
fn audit_severity<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    let s = String::deserialize(d)?;
    match Severity::parse(&s) {
        Some(v) if v != Severity::Unknown => Ok(v),
        _ => Err(serde::de::Error::custom(format!(
            "{s:?} is not a severity (info, low, medium, high, critical)"
        ))),
    }
}

/// One audit rule's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    /// The rule does not run.
    Off,
    /// The rule runs with its default severity.
    On,
    /// The rule runs and reports this severity.
    Severity(Severity),
}

impl<'de> Deserialize<'de> for RuleSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.to_ascii_lowercase().as_str() {
            "off" => Ok(RuleSetting::Off),
            "on" => Ok(RuleSetting::On),
            _ => Severity::parse(&s)
                .filter(|v| *v != Severity::Unknown)
                .map(RuleSetting::Severity)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{s:?} is not a rule setting (off, on, info, low, medium, high, critical)"
                    ))
                }),
        }
    }
}

impl fmt::Display for RuleSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleSetting::Off => f.write_str("off"),
            RuleSetting::On => f.write_str("on"),
            RuleSetting::Severity(s) => f.write_str(s.as_lower()),
        }
    }
}

impl Policy {
    /// Reads and checks a policy file; relative key paths become relative to its directory.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let dir = path.parent().unwrap_or_else(|| Path::new(""));
        Policy::parse(&text, &path.display().to_string(), dir)
    }

    /// Parses and checks policy text. `origin` names it in errors; relative key paths are
    /// joined to `base_dir`.
    pub fn parse(text: &str, origin: &str, base_dir: &Path) -> Result<Policy, PolicyError> {
        let mut policy: Policy = toml::from_str(text).map_err(|e| PolicyError::Parse {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let invalid = |span: std::ops::Range<usize>, message: String| PolicyError::Invalid {
            origin: origin.to_string(),
            line: line_of(text, span.start),
            message,
        };
        if let Some(max) = policy.vulnerabilities.as_ref().and_then(|v| v.max_epss) {
            if !(0.0..=1.0).contains(&max) {
                return Err(PolicyError::Parse {
                    origin: origin.to_string(),
                    message: format!(
                        "[vulnerabilities] max_epss = {max}: an EPSS score is a probability from 0 to 1 (0.5, not 50)"
                    ),
                });
            }
        }
        if let Some(audit) = &policy.audit {
            for id in audit.rules.keys() {
                if customs_audit::rules::rule(id.get_ref()).is_none() {
                    return Err(invalid(
                        id.span(),
                        format!(
                            "[audit] rules: {:?} is not an audit rule id (see `customs audit --help` and docs/audit.md)",
                            id.get_ref()
                        ),
                    ));
                }
            }
        }
        if let Some(att) = &mut policy.attestations {
            for kind in &att.required_types {
                if let Err(e) = customs_sign::intoto::predicate_type_uri(kind.get_ref()) {
                    return Err(invalid(
                        kind.span(),
                        format!("[attestations] required_types: {e}"),
                    ));
                }
            }
            att.key = resolve(base_dir, &att.key);
        }
        if let Some(sig) = &mut policy.signatures {
            for key in &mut sig.required_keys {
                *key = resolve(base_dir, key);
            }
        }
        Ok(policy)
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_relative() && !base.as_os_str().is_empty() {
        base.join(p)
    } else {
        p.to_path_buf()
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, "test.toml", Path::new("/policies"))
    }

    #[test]
    fn empty_policy_checks_nothing() {
        assert_eq!(parse("").unwrap(), Policy::default());
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_key_and_line() {
        let err = parse("[vulnerabilities]\nmax_severity = \"high\"\nmax_cont = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_cont"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn unknown_section_is_an_error() {
        let err = parse("[vulnerabilites]\n").unwrap_err().to_string();
        assert!(err.contains("vulnerabilites"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn vulnerabilities_section_parses() {
        let p = parse(
            "[vulnerabilities]\nmax_severity = \"HIGH\"\nignore_unfixed = true\nmax_count = 0\nignore = [\"CVE-2021-1\"]\n",
        )
        .unwrap();
        let v = p.vulnerabilities.unwrap();
        assert_eq!(v.max_severity, Some(Severity::High));
        assert!(v.ignore_unfixed);
        assert_eq!(v.max_count, Some(0));
        assert_eq!(v.ignore, ["CVE-2021-1"]);
    }

    #[test]
    fn bad_severity_names_the_line() {
        let err = parse("[vulnerabilities]\n\nmax_severity = \"severe\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("severe"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn signature_keys_are_relative_to_the_policy_directory() {
        let p =
            parse("[signatures]\nrequired_keys = [\"keys/cosign.pub\", \"/abs/k.pub\"]\n").unwrap();
        assert_eq!(
            p.signatures.unwrap().required_keys,
            [
                PathBuf::from("/policies/keys/cosign.pub"),
                PathBuf::from("/abs/k.pub")
            ]
        );
    }

    #[test]
    fn attestations_section_parses_and_resolves_its_key() {
        let p = parse(
            "[attestations]\nrequired_types = [\"cyclonedx\", \"https://example.com/p/v1\"]\nkey = \"att.pub\"\n",
        )
        .unwrap();
        let a = p.attestations.unwrap();
        let kinds: Vec<&str> = a
            .required_types
            .iter()
            .map(|k| k.get_ref().as_str())
            .collect();
        assert_eq!(kinds, ["cyclonedx", "https://example.com/p/v1"]);
        assert_eq!(a.key, Path::new("/policies/att.pub"));
    }

    #[test]
    fn attestations_need_a_key() {
        let err = parse("[attestations]\nrequired_types = [\"cyclonedx\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("key"), "{err}");
    }

    #[test]
    fn unknown_attestation_type_names_the_line() {
        let err = parse("[attestations]\nkey = \"k.pub\"\nrequired_types = [\n  \"cyclonedx\",\n  \"sbom\",\n]\n")
            .unwrap_err();
        assert!(
            matches!(&err, PolicyError::Invalid { line: 5, message, .. } if message.contains("sbom")),
            "{err}"
        );
    }

    #[test]
    fn registries_section_parses() {
        let p = parse(
            "[registries]\ntrusted = [\"ghcr.io/org\"]\nmax_age_days = 30\n[registries.base]\ntrusted = [\"docker.io/library\"]\nrequired = true\n",
        )
        .unwrap();
        let r = p.registries.unwrap();
        assert_eq!(r.trusted, Some(vec!["ghcr.io/org".to_string()]));
        assert_eq!(r.max_age_days, Some(30));
        let b = r.base.unwrap();
        assert_eq!(b.trusted, ["docker.io/library"]);
        assert!(b.required);
    }

    #[test]
    fn audit_section_parses_rule_settings() {
        let p = parse(
            "[audit]\nfail_on = \"medium\"\nrules = { \"CUS-PRIV-001\" = \"high\", \"CUS-FRESH-005\" = \"off\", \"CUS-PRIV-007\" = \"on\" }\n",
        )
        .unwrap();
        let a = p.audit.unwrap();
        assert!(a.enabled);
        assert_eq!(a.fail_on, Severity::Medium);
        let settings: Vec<(String, RuleSetting)> = a
            .rules
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), *v))
            .collect();
        assert_eq!(
            settings,
            [
                ("CUS-FRESH-005".to_string(), RuleSetting::Off),
                (
                    "CUS-PRIV-001".to_string(),
                    RuleSetting::Severity(Severity::High)
                ),
                ("CUS-PRIV-007".to_string(), RuleSetting::On),
            ]
        );
    }

    #[test]
    fn audit_defaults_to_enabled_failing_on_high() {
        let a = parse("[audit]\n").unwrap().audit.unwrap();
        assert_eq!(a, Audit::default());
        assert!(a.enabled);
        assert_eq!(a.fail_on, Severity::High);
    }

    #[test]
    fn unknown_audit_rule_names_the_line() {
        let err = parse(
            "[audit]\n[audit.rules]\n\"CUS-PRIV-001\" = \"low\"\n\"CUS-PRIV-999\" = \"off\"\n",
        )
        .unwrap_err();
        assert!(
            matches!(&err, PolicyError::Invalid { line: 4, message, .. } if message.contains("CUS-PRIV-999")),
            "{err}"
        );
    }

    #[test]
    fn bad_rule_setting_is_an_error() {
        let err = parse("[audit]\nrules = { \"CUS-PRIV-001\" = \"maybe\" }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("maybe"), "{err}");
    }

    #[test]
    fn line_of_counts_newlines_before_the_offset() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a", 99), 1);
    }
}
