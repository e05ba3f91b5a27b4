//! The flowtel conventions registry.
//!
//! One conventions YAML (`schema: flowtel/v1`) declares a platform's attributes, metrics and
//! business flows; every flowtel tool reads it through this crate, so a name the linter accepts is
//! a name the macros accept and the runtime records. This crate knows YAML, not telemetry:
//!
//! - [`model`]: the schema as plain data (and the JSON Schema generated from it),
//! - [`load`]: reading files and folders, following `imports`, merging layers,
//! - [`validate`]: the registry rules, [`diff`]: comparing two versions,
//! - [`route`]: flows' entry routes (`METHOD /route`), parsed once,
//! - [`prometheus`]: the OpenTelemetry-to-Prometheus translation of metric and label names,
//! - [`finding`], [`rules`]: the one finding type and the rule catalogue shared by all of
//!   flowtel,
//! - [`output`]: the output layer, where every format of every command is rendered (findings as
//!   human, JSON and SARIF, the diff's Markdown, generated files written atomically); see its
//!   module documentation to plug a new output in.
//!
//! ```
//! let loaded = flowtel_conventions::check_str(
//!     "flowtel.yaml",
//!     "schema: flowtel/v1\nname: demo\nversion: 1.0.0\nflows:\n  checkout: {owner: team-payments}\n",
//! );
//! // No errors; warnings say what the file still lacks (the RED metrics flowtel records).
//! assert!(loaded.findings.iter().all(|f| f.severity < flowtel_conventions::Severity::Error));
//! assert!(loaded.registry.unwrap().flows.contains_key("checkout"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod coverage;
pub mod diff;
pub mod duration;
pub mod finding;
pub mod keys;
pub mod load;
pub mod model;
pub mod output;
pub mod pii;
pub mod prometheus;
pub mod recorded;
pub mod registry;
pub mod route;
pub mod rules;
pub mod semconv;
pub mod severity;
pub mod source;
pub mod units;
pub mod validate;

use std::path::{Path, PathBuf};

pub use finding::{Finding, Location, Severity, Summary, exit_code};
pub use load::{Loaded, Registry};
pub use model::*;
pub use output::findings as report;
pub use output::{apply_overrides, settle, sort};

/// Loads and validates a registry (file or folder), applying the registry's own severity
/// overrides; findings are sorted by file and position.
pub fn check(path: &Path) -> Loaded {
    finish(load::load(path))
}

/// [`check`] for in-memory text, as if read from `path`.
pub fn check_str(path: impl AsRef<Path>, text: &str) -> Loaded {
    finish(load::load_str(path.as_ref(), text))
}

fn finish(mut loaded: Loaded) -> Loaded {
    if let Some(reg) = &loaded.registry {
        loaded.findings.extend(validate::validate(reg));
        loaded.findings.extend(semconv::layering::check(reg));
        semconv::layering::soften(reg, &mut loaded.findings);
        settle(&mut loaded.findings, &reg.lint);
    } else {
        sort(&mut loaded.findings);
    }
    loaded
}

/// Finds the conventions for a working directory: `flowtel.yaml`, `flowtel.yml` or a
/// `conventions/` folder in it or any parent.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        for name in ["flowtel.yaml", "flowtel.yml"] {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        let c = d.join("conventions");
        if c.is_dir() {
            return Some(c);
        }
        dir = d.parent();
    }
    None
}

/// The JSON Schema of a conventions file, pretty-printed (for yaml-language-server).
pub fn json_schema() -> String {
    let mut s = serde_json::to_string_pretty(load::registry_schema()).unwrap_or_default();
    s.push('\n');
    s
}
