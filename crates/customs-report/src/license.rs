//! Sorting declared licence strings into valid SPDX (an id or an expression) and free text, so
//! that CycloneDX and SPDX documents never carry an invalid identifier.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use spdx::expression::{ExprNode, Operator};
use spdx::{Expression, LicenseItem, ParseMode};

/// What a declared licence string turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Declared {
    /// Exactly one SPDX licence identifier (`MIT`).
    Id(String),
    /// A valid SPDX expression of several terms (`MIT OR Apache-2.0`).
    Expression(String),
    /// Anything else, kept as written (`Artistic`, `MIT License`, `see LICENSE`).
    Other(String),
}

/// SPDX syntax, case-sensitive, known identifiers only; deprecated identifiers (`GPL-2.0`,
/// `GPL-2.0+`) are still identifiers, so they count. No guessing from near-misses: `gpl`
/// does not become `GPL-2.0-only`.
const MODE: ParseMode = ParseMode {
    allow_slash_as_or_operator: false,
    allow_imprecise_license_names: false,
    allow_postfix_plus_on_gpl: false,
    allow_deprecated: true,
    allow_unknown: false,
};

pub(crate) fn classify(text: &str) -> Option<Declared> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let Ok(expr) = Expression::parse_mode(text, MODE) else {
        return Some(Declared::Other(text.to_string()));
    };
    // Licence and addition references would need definitions we do not have.
    let only_listed = expr.requirements().all(|r| {
        matches!(r.req.license, LicenseItem::Spdx { .. })
            && r.req.addition.as_ref().is_none_or(|a| a.id().is_some())
    });
    if !only_listed {
        return Some(Declared::Other(text.to_string()));
    }
    let single = expr.iter().count() == 1
        && matches!(expr.iter().next(), Some(ExprNode::Req(r))
            if r.req.addition.is_none()
                && matches!(r.req.license, LicenseItem::Spdx { or_later: false, .. }));
    if single && spdx::license_id(text).is_some_and(|id| id.name == text) {
        Some(Declared::Id(text.to_string()))
    } else {
        Some(Declared::Expression(text.to_string()))
    }
}

/// True when an expression has an operator, so that joining it with others needs parentheses.
pub(crate) fn is_compound(expr: &str) -> bool {
    Expression::parse_mode(expr, MODE).is_ok_and(|e| {
        e.iter()
            .any(|n| matches!(n, ExprNode::Op(Operator::And | Operator::Or)))
            || e.iter().count() > 1
    })
}

/// The `LicenseRef-…` definitions an SPDX document needs for free-text licences, keyed by id.
#[derive(Debug, Default)]
pub(crate) struct LicenseRefs {
    pub(crate) by_id: BTreeMap<String, String>,
}

impl LicenseRefs {
    /// The `LicenseRef-` id for a free-text licence, registering it. Ids keep only the
    /// characters SPDX allows (`[A-Za-z0-9.-]`); two texts that sanitise alike are told apart by
    /// a hash of the text.
    pub(crate) fn reference(&mut self, text: &str) -> String {
        let mut slug: String = text
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        slug = slug.trim_matches('-').to_string();
        while slug.contains("--") {
            slug = slug.replace("--", "-");
        }
        if slug.is_empty() {
            slug.push_str("unnamed");
        }
        let mut id = format!("LicenseRef-{slug}");
        if self.by_id.get(&id).is_some_and(|known| known != text) {
            let hash = hex::encode(Sha256::digest(text.as_bytes()));
            id = format!("{id}-{}", &hash[..8]);
        }
        self.by_id.insert(id.clone(), text.to_string());
        id
    }

    /// The SPDX `licenseDeclared` value for a package's declared licences: the valid ones as
    /// they are, free text as `LicenseRef-…`, all joined with `AND`; `NOASSERTION` for none.
    pub(crate) fn declared(&mut self, licenses: &[String]) -> String {
        let mut terms: Vec<String> = Vec::new();
        for text in licenses {
            let term = match classify(text) {
                None => continue,
                Some(Declared::Id(id)) => id,
                Some(Declared::Expression(expr)) => expr,
                Some(Declared::Other(other)) => self.reference(&other),
            };
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        match terms.len() {
            0 => "NOASSERTION".to_string(),
            1 => terms.remove(0),
            _ => terms
                .iter()
                .map(|t| {
                    if is_compound(t) {
                        format!("({t})")
                    } else {
                        t.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_ids_and_expressions_are_recognised_exactly() {
        assert_eq!(classify("MIT"), Some(Declared::Id("MIT".into())));
        assert_eq!(classify(" GPL-2.0 "), Some(Declared::Id("GPL-2.0".into())));
        assert_eq!(
            classify("MIT OR Apache-2.0"),
            Some(Declared::Expression("MIT OR Apache-2.0".into()))
        );
        assert_eq!(
            classify("Apache-2.0 WITH LLVM-exception"),
            Some(Declared::Expression(
                "Apache-2.0 WITH LLVM-exception".into()
            ))
        );
        assert_eq!(classify("   "), None);
    }

    #[test]
    fn near_misses_and_free_text_are_not_spdx() {
        for text in [
            "mit",
            "MIT License",
            "GPL-2+",
            "gpl",
            "Artistic",
            "LicenseRef-foo",
            "MIT/X11",
        ] {
            assert_eq!(classify(text), Some(Declared::Other(text.into())), "{text}");
        }
    }

    #[test]
    fn declared_joins_terms_and_defines_license_refs() {
        let mut refs = LicenseRefs::default();
        let declared = refs.declared(&[
            "MIT OR Apache-2.0".into(),
            "GPL-2+".into(),
            "BSD-3-Clause".into(),
            "GPL-2+".into(),
        ]);
        assert_eq!(
            declared,
            "(MIT OR Apache-2.0) AND LicenseRef-GPL-2 AND BSD-3-Clause"
        );
        assert_eq!(
            refs.by_id.get("LicenseRef-GPL-2").map(String::as_str),
            Some("GPL-2+")
        );
        // A different text that sanitises alike gets its own id.
        let other = refs.reference("GPL 2");
        assert!(other.starts_with("LicenseRef-GPL-2-") && other.len() > "LicenseRef-GPL-2-".len());
        assert_eq!(LicenseRefs::default().declared(&[]), "NOASSERTION");
    }
}
