//! Audit configuration: which rules run, severity overrides, thresholds, the allowed base
//! registries, the clock, and the optional registry look-up for the base-image check.
//! [`AuditOptions::validate`] rejects rule ids that do not exist.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::rules::{rule, Severity};
use crate::AuditError;

/// Returns the digest a base-image reference (`docker.io/library/alpine:3.20`) points at now,
/// or `None` when it cannot tell. Called at most once per audit.
pub type DigestLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How to audit.
#[derive(Clone)]
pub struct AuditOptions {
    /// When `Some`, only these rule ids run.
    pub enabled: Option<BTreeSet<String>>,
    /// Rule ids that never run.
    pub disabled: BTreeSet<String>,
    /// Severity to report instead of a rule's default.
    pub severity_overrides: BTreeMap<String, Severity>,
    /// Registries base images may come from (`docker.io`, `gcr.io`); empty allows any.
    pub allowed_registries: Vec<String>,
    /// Age in days beyond which an image is old (`CUS-FRESH-001`).
    pub max_age_days: u64,
    /// The current time in Unix seconds; `None` reads the system clock. Tests pin it.
    pub now: Option<i64>,
    /// Registry look-up for `CUS-BASE-002`; `None` means offline (the check is skipped).
    pub base_digest_lookup: Option<DigestLookup>,
    /// Largest file whose contents are scanned for secrets.
    pub max_secret_file_bytes: u64,
    /// Smallest superseded copy reported by `CUS-LAYER-001`.
    pub min_wasted_file_bytes: u64,
    /// Efficiency below which `CUS-LAYER-002` fires (0.0–1.0).
    pub min_efficiency: f64,
    /// Layer count above which `CUS-LAYER-003` fires.
    pub max_layers: usize,
    /// A layer whose regular files add up to fewer bytes than this is tiny (`CUS-LAYER-004`).
    pub tiny_layer_bytes: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            enabled: None,
            disabled: BTreeSet::new(),
            severity_overrides: BTreeMap::new(),
            allowed_registries: Vec::new(),
            max_age_days: 365,
            now: None,
            base_digest_lookup: None,
            max_secret_file_bytes: 1 << 20,
            min_wasted_file_bytes: 64 << 10,
            min_efficiency: 0.9,
            max_layers: 40,
            tiny_layer_bytes: 512,
        }
    }
}

impl fmt::Debug for AuditOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditOptions")
            .field("enabled", &self.enabled)
            .field("disabled", &self.disabled)
            .field("severity_overrides", &self.severity_overrides)
            .field("allowed_registries", &self.allowed_registries)
            .field("max_age_days", &self.max_age_days)
            .field("now", &self.now)
            .field("base_digest_lookup", &self.base_digest_lookup.is_some())
            .field("max_secret_file_bytes", &self.max_secret_file_bytes)
            .field("min_wasted_file_bytes", &self.min_wasted_file_bytes)
            .field("min_efficiency", &self.min_efficiency)
            .field("max_layers", &self.max_layers)
            .field("tiny_layer_bytes", &self.tiny_layer_bytes)
            .finish()
    }
}

impl AuditOptions {
    /// Checks that every rule id named exists and the thresholds make sense.
    pub fn validate(&self) -> Result<(), AuditError> {
        let named = self
            .enabled
            .iter()
            .flatten()
            .chain(&self.disabled)
            .chain(self.severity_overrides.keys());
        for id in named {
            if rule(id).is_none() {
                return Err(AuditError::UnknownRule(id.clone()));
            }
        }
        if !(0.0..=1.0).contains(&self.min_efficiency) {
            return Err(AuditError::InvalidOption(format!(
                "min_efficiency {} is not between 0 and 1",
                self.min_efficiency
            )));
        }
        Ok(())
    }

    /// Whether rule `id` runs.
    pub fn is_enabled(&self, id: &str) -> bool {
        !self.disabled.contains(id) && self.enabled.as_ref().is_none_or(|e| e.contains(id))
    }

    /// The severity rule `id` reports with.
    pub fn severity(&self, id: &str, default: Severity) -> Severity {
        self.severity_overrides.get(id).copied().unwrap_or(default)
    }

    /// The current time in Unix seconds.
    pub fn now_unix(&self) -> i64 {
        self.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_rule_ids_are_rejected() {
        let mut o = AuditOptions::default();
        o.disabled.insert("CUS-PRIV-999".into());
        assert!(matches!(o.validate(), Err(AuditError::UnknownRule(id)) if id == "CUS-PRIV-999"));
        let mut o = AuditOptions::default();
        o.severity_overrides
            .insert("CUS-PRIV-001".into(), Severity::Low);
        assert!(o.validate().is_ok());
        assert_eq!(o.severity("CUS-PRIV-001", Severity::High), Severity::Low);
    }

    #[test]
    fn enabled_set_limits_rules_and_disabled_wins() {
        let mut o = AuditOptions {
            enabled: Some(["CUS-PRIV-001".to_string()].into()),
            ..AuditOptions::default()
        };
        assert!(o.is_enabled("CUS-PRIV-001"));
        assert!(!o.is_enabled("CUS-PRIV-002"));
        o.disabled.insert("CUS-PRIV-001".into());
        assert!(!o.is_enabled("CUS-PRIV-001"));
    }
}
