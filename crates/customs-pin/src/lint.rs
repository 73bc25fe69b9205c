//! Lint rules for image references. Every rule has a stable id and its one message here.

use customs_image::Reference;
use serde::Serialize;

use crate::{split_written, ImageRef, Scan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
/// How serious a lint finding is; `--min-severity` filters on it.
pub enum Level {
    /// Worth knowing; nothing to fix.
    Info,
    /// Should be fixed.
    Warning,
    /// Must be fixed; fails the lint.
    Error,
}

impl Level {
    /// The lowercase name (`info`, `warning`, `error`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
/// A lint rule, with a stable id (`PIN001` …).
pub enum Rule {
    /// No tag and no digest: the registry's `latest` is whatever it is today.
    Untagged,
    /// The `latest` tag without a digest.
    LatestTag,
    /// No digest: the tag may be moved to other content.
    NoDigest,
    /// The registry is not in the allow-list.
    RegistryNotAllowed,
    /// The text is not a valid image reference.
    InvalidReference,
    /// The reference uses a variable that has no value, so it cannot be checked.
    Unresolved,
}

impl Rule {
    /// Every rule, in id order.
    pub const ALL: [Rule; 6] = [
        Rule::Untagged,
        Rule::LatestTag,
        Rule::NoDigest,
        Rule::RegistryNotAllowed,
        Rule::InvalidReference,
        Rule::Unresolved,
    ];

    /// The stable id.
    pub fn id(&self) -> &'static str {
        match self {
            Rule::Untagged => "PIN001",
            Rule::LatestTag => "PIN002",
            Rule::NoDigest => "PIN003",
            Rule::RegistryNotAllowed => "PIN004",
            Rule::InvalidReference => "PIN005",
            Rule::Unresolved => "PIN006",
        }
    }

    /// A short name.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Untagged => "untagged",
            Rule::LatestTag => "latest-tag",
            Rule::NoDigest => "no-digest",
            Rule::RegistryNotAllowed => "registry-not-allowed",
            Rule::InvalidReference => "invalid-reference",
            Rule::Unresolved => "unresolved-reference",
        }
    }

    /// The severity a finding of this rule has.
    pub fn severity(&self) -> Level {
        match self {
            Rule::Untagged | Rule::LatestTag | Rule::Unresolved => Level::Warning,
            Rule::NoDigest => Level::Warning,
            Rule::RegistryNotAllowed | Rule::InvalidReference => Level::Error,
        }
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Finding", 8)?;
        st.serialize_field("rule", self.rule.id())?;
        st.serialize_field("name", self.rule.name())?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("column", &self.column)?;
        st.serialize_field("reference", &self.reference)?;
        st.serialize_field("context", &self.context)?;
        st.serialize_field("message", &self.message)?;
        st.end()
    }
}

/// One problem with one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule broken.
    pub rule: Rule,
    /// How serious it is.
    pub severity: Level,
    /// 1-based line of the reference.
    pub line: usize,
    /// 1-based column of the reference.
    pub column: usize,
    /// The reference as it would be pulled (or as written, when unresolved).
    pub reference: String,
    /// What uses the reference (`FROM`, `services.web.image`).
    pub context: String,
    /// What is wrong, for people.
    pub message: String,
}

#[derive(Debug, Clone, Default)]
/// What the lint accepts.
pub struct LintOptions {
    /// Registries (`ghcr.io`, `docker.io`, `registry.example.com:5000`) or registry path
    /// prefixes (`ghcr.io/acme`) that references may use. Empty: any registry.
    pub allowed_registries: Vec<String>,
}

/// Whether `reference` is on a registry (or under a path prefix) that `allowed` lists.
pub fn registry_allowed(reference: &Reference, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let full = format!("{}/{}", reference.registry, reference.repository);
    allowed.iter().any(|a| {
        let a = a.trim_end_matches('/');
        let a = match a {
            "index.docker.io" | "registry-1.docker.io" => "docker.io",
            a => a,
        };
        reference.registry == a || full.starts_with(&format!("{a}/"))
    })
}

/// Checks one reference.
pub fn lint_ref(image: &ImageRef, opts: &LintOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let finding = |rule: Rule, reference: &str, message: String| Finding {
        rule,
        severity: rule.severity(),
        line: image.line,
        column: image.column,
        reference: reference.to_string(),
        context: image.context.clone(),
        message,
    };
    let Some(text) = &image.reference else {
        let vars = image.via_arg.as_deref().unwrap_or("?");
        out.push(finding(
            Rule::Unresolved,
            "",
            format!("image reference uses {vars}, which has no value here; it cannot be checked"),
        ));
        return out;
    };
    let parsed = match Reference::parse(text) {
        Ok(r) => r,
        Err(e) => {
            out.push(finding(Rule::InvalidReference, text, e.to_string()));
            return out;
        }
    };
    let written = split_written(text);
    if written.digest.is_none() {
        match written.tag {
            None => out.push(finding(
                Rule::Untagged,
                text,
                format!("{text} has no tag and no digest: it means {text}:latest, whatever that is when pulled"),
            )),
            Some("latest") => out.push(finding(
                Rule::LatestTag,
                text,
                format!("{text} uses the latest tag, which moves with every release"),
            )),
            Some(_) => {}
        }
        out.push(finding(
            Rule::NoDigest,
            text,
            format!("{text} is not pinned to a digest: the tag can be moved to other content"),
        ));
    }
    if !registry_allowed(&parsed, &opts.allowed_registries) {
        out.push(finding(
            Rule::RegistryNotAllowed,
            text,
            format!(
                "{text} comes from {}, which is not an allowed registry ({})",
                parsed.registry,
                opts.allowed_registries.join(", ")
            ),
        ));
    }
    out
}

/// Checks every reference of a file.
pub fn lint(scan: &Scan, opts: &LintOptions) -> Vec<Finding> {
    scan.images.iter().flat_map(|i| lint_ref(i, opts)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(reference: &str, allowed: &[&str]) -> Vec<&'static str> {
        let image = ImageRef {
            reference: Some(reference.to_string()),
            line: 1,
            column: 1,
            written_at: None,
            context: "FROM".into(),
            via_arg: None,
        };
        let opts = LintOptions {
            allowed_registries: allowed.iter().map(|s| s.to_string()).collect(),
        };
        lint_ref(&image, &opts)
            .into_iter()
            .map(|f| f.rule.name())
            .collect()
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn untagged_reference_is_untagged_and_unpinned() {
        assert_eq!(rules("alpine", &[]), vec!["untagged", "no-digest"]);
        // A port is not a tag.
        assert_eq!(
            rules("localhost:5000/app", &[]),
            vec!["untagged", "no-digest"]
        );
    }

    #[test]
    fn latest_tag_without_digest() {
        assert_eq!(rules("alpine:latest", &[]), vec!["latest-tag", "no-digest"]);
        assert!(rules(&format!("alpine:latest@{D}"), &[]).is_empty());
    }

    #[test]
    fn tagged_reference_only_lacks_digest() {
        assert_eq!(rules("alpine:3.20", &[]), vec!["no-digest"]);
        assert!(rules(&format!("alpine@{D}"), &[]).is_empty());
    }

    #[test]
    fn allow_list_by_registry_and_prefix() {
        let pinned = format!("ghcr.io/acme/app:1@{D}");
        assert!(rules(&pinned, &["ghcr.io"]).is_empty());
        assert!(rules(&pinned, &["ghcr.io/acme"]).is_empty());
        assert_eq!(
            rules(&pinned, &["ghcr.io/other"]),
            vec!["registry-not-allowed"]
        );
        // Short names are Docker Hub.
        assert!(rules(&format!("alpine@{D}"), &["docker.io"]).is_empty());
        assert!(rules(&format!("alpine@{D}"), &["index.docker.io"]).is_empty());
        assert_eq!(
            rules(&format!("alpine@{D}"), &["quay.io"]),
            vec!["registry-not-allowed"]
        );
    }

    #[test]
    fn invalid_reference_is_an_error() {
        assert_eq!(rules("Alpine:3", &[]), vec!["invalid-reference"]);
        assert_eq!(rules("alpine:-bad", &[]), vec!["invalid-reference"]);
    }

    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<_> = Rule::ALL.iter().map(Rule::id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len());
    }
}
