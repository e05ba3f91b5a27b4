//! The rule catalogue: every check flowtel makes, declared once.
//!
//! Each rule has an id (`FT0012`), a kebab-case name, a default severity and its documentation in
//! a fixed shape (what it does, why it matters, an example of bad and good). `flowtel explain`
//! and the SARIF `rules` array are generated from here. Rules are
//! grouped by the part of flowtel that raises them, one file per area:
//!
//! | ids | area |
//! |---|---|
//! | `FT00xx` | registry loading and validation ([`registry`]) |
//! | `FT01xx` | exported telemetry ([`telemetry`]; log records and events `FT017x`, [`logs`]) |
//! | `FT02xx` | Rust sources ([`source`]) |
//! | `FT03xx` | conventions updates, `flowtel diff` ([`diff`]) |
//! | `FT04xx` | OpenTelemetry semantic conventions and deprecations ([`semconv`]) |
//! | `FT05xx` | Prometheus alerting rules and Alertmanager routing ([`alerts`]) |
//! | `FT06xx` | flow analysis over traces ([`analysis`]) |
//! | `FT07xx` | governance generators: what an artifact needs ([`govern`]) |
//! | `FT08xx` | the SDK's enforcement at run time, counted in `flowtel.violations` ([`runtime`]) |
//! | `FT09xx` | release regression check, `flowtel regress` ([`regress`]) |

/// Declares a rule as a `pub static` with its documentation. Used by every area file.
macro_rules! declare_rule {
    ($ident:ident, $id:literal, $name:literal, $sev:ident,
     summary: $summary:literal, what: $what:literal, why: $why:literal,
     bad: $bad:literal, good: $good:literal $(,)?) => {
        #[doc = concat!("`", $id, " ", $name, "`: ", $summary)]
        pub static $ident: $crate::rules::rule::Rule = $crate::rules::rule::Rule {
            id: $id,
            name: $name,
            severity: $crate::severity::Severity::$sev,
            summary: $summary,
            what: $what,
            why: $why,
            bad: $bad,
            good: $good,
        };
    };
}

mod rule;
pub use rule::Rule;

pub mod alerts;
pub mod analysis;
pub mod diff;
pub mod govern;
pub mod logs;
pub mod registry;
pub mod regress;
pub mod runtime;
pub mod semconv;
pub mod source;
pub mod telemetry;

/// Every rule, in id order.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    registry::RULES
        .iter()
        .chain(telemetry::RULES)
        .chain(logs::RULES)
        .chain(source::RULES)
        .chain(diff::RULES)
        .chain(semconv::RULES)
        .chain(alerts::RULES)
        .chain(analysis::RULES)
        .chain(govern::RULES)
        .chain(runtime::RULES)
        .chain(regress::RULES)
        .copied()
}

/// Looks a rule up by id (`FT0012`, case-insensitive) or name (`label-not-an-attribute`).
pub fn find(id_or_name: &str) -> Option<&'static Rule> {
    all().find(|r| r.id.eq_ignore_ascii_case(id_or_name) || r.name == id_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for r in all() {
            assert!(ids.insert(r.id), "duplicate id {}", r.id);
            assert!(names.insert(r.name), "duplicate name {}", r.name);
            assert!(
                r.id.len() == 6
                    && r.id.starts_with("FT")
                    && r.id[2..].bytes().all(|b| b.is_ascii_digit()),
                "bad id {}",
                r.id
            );
            assert!(
                r.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "bad name {}",
                r.name
            );
            for text in [r.summary, r.what, r.why, r.bad, r.good] {
                assert!(!text.trim().is_empty(), "rule {} has an empty text", r.id);
            }
        }
    }

    #[test]
    fn finds_by_id_or_name() {
        assert_eq!(find("ft0003").map(|r| r.name), Some("unknown-key"));
        assert_eq!(find("unknown-key").map(|r| r.id), Some("FT0003"));
        assert!(find("FT9999").is_none());
    }

    #[test]
    fn every_runtime_violation_is_a_catalogue_rule_with_its_label_as_name() {
        for r in runtime::VIOLATIONS {
            assert_eq!(find(r.name).map(|f| f.id), Some(r.id));
        }
        assert_eq!(find("cardinality-overflow").map(|r| r.id), Some("FT0802"));
        for r in runtime::RULES {
            assert!(runtime::VIOLATIONS.contains(r), "{} is not counted", r.id);
        }
    }
}
