//! Finding and loading the conventions registry at compile time, once per compiler process.
//!
//! A crate's macros all read the same registry, so the first expansion loads it (through
//! `flowtel_conventions::check`) and keeps a compact [`Conventions`] snapshot in a process-wide
//! cache keyed by the registry's path; later expansions in the same `rustc` reuse it. The cache
//! entry remembers the files' modification times, so a long-lived expansion server (an IDE)
//! sees edits. A registry that cannot be found or does not validate becomes one error, reported
//! by the first expansion only; later expansions expand without checks rather than repeat it.
//!
//! This module also owns the checks of names against the registry ([`Conventions::flow`],
//! [`Conventions::step`], [`Conventions::attribute`]): each returns a `syn::Error` on the
//! user's own token with a "did you mean" from the registry's names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use flowtel_conventions::finding::did_you_mean;
use flowtel_conventions::{AttributeType, LogSeverity, Redaction, Severity};
use proc_macro2::Span;

use crate::attr::Named;

/// Environment variable naming the registry (file or folder) explicitly.
pub(crate) const ENV_VAR: &str = "FLOWTEL_CONVENTIONS";

/// What the macros need from a registry: names, and how to treat each attribute.
#[derive(Debug)]
pub(crate) struct Conventions {
    /// The registry path as shown in messages.
    pub display: String,
    /// Every file read, absolute, for tracked `include_bytes!` and `conventions!()`.
    pub files: Vec<PathBuf>,
    /// What `conventions!()` embeds: the entry's name and every file as `(name, absolute path)`,
    /// named so that the run-time loader resolves each import to the same file as this one did.
    pub embed: Embed,
    /// Flows in declaration order, each with its steps.
    pub flows: Vec<(String, Vec<String>)>,
    /// Declared metrics, each with whether it is a saturation signal.
    pub metrics: Vec<(String, bool)>,
    /// Declared attributes.
    pub attributes: HashMap<String, AttributeInfo>,
    /// Declared log events in declaration order.
    pub events: Vec<(String, EventInfo)>,
    /// The `naming.span` pattern, when it compiles.
    pub span_pattern: Option<(String, regex::Regex)>,
}

/// The files `conventions!()` embeds, under the names the run-time loader looks them up by.
///
/// Names are the paths the compile-time loader read, relative to the folder holding them all, so
/// the binary carries no build paths. When a file imports by absolute path, that path is in the
/// embedded text anyway, so the names stay absolute and the import resolves as it did here.
#[derive(Debug, Default)]
pub(crate) struct Embed {
    /// The entry file or folder.
    pub root: String,
    /// `(name, absolute path for include_str!)` of every file.
    pub files: Vec<(String, PathBuf)>,
}

/// The parts of an attribute declaration a field check needs.
#[derive(Debug, Clone)]
pub(crate) struct AttributeInfo {
    pub ty: AttributeType,
    pub values: Vec<String>,
    pub pii: bool,
    pub redact: Redaction,
}

/// The parts of an event declaration `event!` checks.
#[derive(Debug, Clone)]
pub(crate) struct EventInfo {
    /// The lowest severity the event may be written at.
    pub severity: Option<LogSeverity>,
    /// Every attribute the event may carry (optional and required).
    pub attributes: Vec<String>,
    /// The attributes it must carry.
    pub required: Vec<String>,
}

/// One cache entry: the outcome of loading a registry path.
struct Entry {
    result: Result<Arc<Conventions>, String>,
    /// Modification times of the files read, to notice edits in long-lived processes.
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    /// Whether an expansion has already reported the load error.
    reported: AtomicBool,
    /// Whether an expansion has already emitted the tracked `include_bytes!`.
    tracked: AtomicBool,
}

type Cache = Mutex<HashMap<PathBuf, Arc<Entry>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// What an expansion gets: the registry, or an error to report (at most once per process).
pub(crate) enum Lookup {
    /// The registry, and whether this expansion must emit the file-tracking items.
    Found {
        conventions: Arc<Conventions>,
        track: bool,
    },
    /// No usable registry; `Some(message)` for the one expansion that reports it.
    Unusable(Option<String>),
}

/// Finds the registry for the crate being compiled and returns its snapshot, from the cache
/// when this process has loaded it before.
pub(crate) fn lookup() -> Lookup {
    let path = match locate() {
        Ok(p) => p,
        Err(message) => {
            // A missing registry has no path to key on: report it from the first expansion.
            static MISSING_REPORTED: AtomicBool = AtomicBool::new(false);
            let first = !MISSING_REPORTED.swap(true, Ordering::Relaxed);
            return Lookup::Unusable(first.then_some(message));
        }
    };
    let entry = {
        let mut map = match cache().lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        match map.get(&path) {
            Some(e) if !stale(e) => e.clone(),
            _ => {
                let e = Arc::new(load(&path));
                map.insert(path.clone(), e.clone());
                e
            }
        }
    };
    match &entry.result {
        Ok(c) => Lookup::Found {
            conventions: c.clone(),
            track: !entry.tracked.swap(true, Ordering::Relaxed),
        },
        Err(message) => {
            let first = !entry.reported.swap(true, Ordering::Relaxed);
            Lookup::Unusable(first.then(|| message.clone()))
        }
    }
}

fn stale(entry: &Entry) -> bool {
    entry
        .stamps
        .iter()
        .any(|(p, t)| std::fs::metadata(p).and_then(|m| m.modified()).ok() != *t)
}

/// Where the registry is: `FLOWTEL_CONVENTIONS`, else `[package.metadata.flowtel] conventions`
/// in the crate's `Cargo.toml`, else `flowtel.yaml` or `conventions/` walking up from the crate.
fn locate() -> Result<PathBuf, String> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    if let Some(value) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        let given = PathBuf::from(&value);
        return resolve(&given, &manifest_dir).ok_or_else(|| {
            format!(
                "{ENV_VAR} names `{}`, which does not exist\n\
                 help: set {ENV_VAR} to a conventions file or folder (absolute, or relative to the \
                 workspace or to this crate)",
                given.display()
            )
        });
    }
    let manifest = manifest_dir.join("Cargo.toml");
    if let Some(given) = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|text| metadata_conventions(&text))
    {
        let given = PathBuf::from(given);
        return resolve(&given, &manifest_dir).ok_or_else(|| {
            format!(
                "`[package.metadata.flowtel] conventions` in {} names `{}`, which does not exist",
                manifest.display(),
                given.display()
            )
        });
    }
    flowtel_conventions::discover(&manifest_dir).ok_or_else(|| {
        "no flowtel conventions found for this crate\n\
         help: put `flowtel.yaml` or a `conventions/` folder in this crate or a parent folder, \
         add `[package.metadata.flowtel] conventions = \"path\"` to its Cargo.toml, or set \
         FLOWTEL_CONVENTIONS"
            .to_string()
    })
}

/// Resolves a configured path: as is when absolute, else against the working directory of the
/// compiler (the workspace root under cargo), then against the crate's folder.
fn resolve(given: &Path, manifest_dir: &Path) -> Option<PathBuf> {
    let candidates = if given.is_absolute() {
        vec![given.to_path_buf()]
    } else {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        vec![cwd.join(given), manifest_dir.join(given)]
    };
    candidates
        .into_iter()
        .find(|p| p.exists())
        .map(|p| p.canonicalize().unwrap_or(p))
}

/// Reads `conventions = "..."` from the `[package.metadata.flowtel]` table of a manifest.
///
/// A line-level reader rather than a TOML parser keeps the macro crate's dependencies (and so
/// every user's build) small; it understands the plain `key = "value"` form cargo itself writes.
fn metadata_conventions(manifest: &str) -> Option<String> {
    let mut in_table = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line.trim_start_matches('[').trim_end_matches(']').trim()
                == "package.metadata.flowtel";
            continue;
        }
        if !in_table {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "conventions" {
            let value = value.split('#').next().unwrap_or("").trim();
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            if !value.is_empty() {
                return Some(value.to_string());
            }
        }
    }
    None
}

/// Shows a path relative to the working directory (the workspace root under cargo) when it is
/// inside it.
fn display(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    cwd.as_deref()
        .and_then(|c| path.strip_prefix(c).ok())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn load(path: &Path) -> Entry {
    let loaded = flowtel_conventions::check(path);
    let shown = display(path);
    let errors: Vec<_> = loaded
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Error)
        .collect();
    let mut stamps = vec![(path.to_path_buf(), mtime(path))];
    let files: Vec<PathBuf> = loaded
        .registry
        .as_ref()
        .map(|r| {
            r.sources
                .files()
                .iter()
                .map(|f| f.path.canonicalize().unwrap_or_else(|_| f.path.clone()))
                .collect()
        })
        .unwrap_or_default();
    let embed = loaded
        .registry
        .as_ref()
        .map(|r| embed(r, path))
        .unwrap_or_default();
    stamps.extend(files.iter().map(|f| (f.clone(), mtime(f))));
    let result = match loaded.registry {
        Some(reg) if errors.is_empty() => Ok(Arc::new(snapshot(reg, shown, files, embed))),
        _ => {
            let mut message = format!(
                "the flowtel conventions at `{shown}` are invalid ({} error{})",
                errors.len().max(1),
                if errors.len() > 1 { "s" } else { "" }
            );
            for f in errors.iter().take(5) {
                message.push_str("\n  ");
                if let Some(l) = &f.location {
                    message.push_str(&format!("{l}: "));
                }
                // The rule, not the full text: `flowtel check` prints that, with the snippet.
                message.push_str(&format!("{} [{}]", f.rule.name, f.rule.id));
            }
            if errors.len() > 5 {
                message.push_str(&format!("\n  ... and {} more", errors.len() - 5));
            }
            message.push_str(&format!(
                "\nhelp: run `flowtel check {shown}` for the full report"
            ));
            Err(message)
        }
    };
    Entry {
        result,
        stamps,
        reported: AtomicBool::new(false),
        tracked: AtomicBool::new(false),
    }
}

/// Names the files of a loaded registry for `conventions!()` (see [`Embed`]).
fn embed(reg: &flowtel_conventions::Registry, root: &Path) -> Embed {
    use flowtel_conventions::model::Import;
    let absolute_import = reg.layers.iter().any(|l| {
        l.content.imports.iter().any(|i| match i {
            Import::Path(p) => Path::new(p).is_absolute(),
            Import::Semconv(s) => Path::new(&s.semconv).is_absolute(),
        })
    });
    let read: Vec<(PathBuf, PathBuf)> = reg
        .sources
        .files()
        .iter()
        .map(|f| {
            let abs = f.path.canonicalize().unwrap_or_else(|_| f.path.clone());
            (flowtel_conventions::load::normalize(&f.path), abs)
        })
        .collect();
    let root = flowtel_conventions::load::normalize(root);
    let base = if absolute_import {
        PathBuf::new()
    } else {
        common_base(&root, read.iter().map(|(p, _)| p.as_path()))
    };
    let name = |p: &Path| -> String {
        p.strip_prefix(&base)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };
    Embed {
        root: name(&root),
        files: read.iter().map(|(p, abs)| (name(p), abs.clone())).collect(),
    }
}

/// The deepest folder holding the entry and every file.
fn common_base<'a>(root: &Path, files: impl Iterator<Item = &'a Path>) -> PathBuf {
    let mut base = root.parent().unwrap_or(root).to_path_buf();
    for f in files {
        while !f.starts_with(&base) {
            match base.parent() {
                Some(p) => base = p.to_path_buf(),
                None => break,
            }
        }
    }
    base
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn snapshot(
    reg: flowtel_conventions::Registry,
    display: String,
    files: Vec<PathBuf>,
    embed: Embed,
) -> Conventions {
    let span_pattern = regex::Regex::new(&reg.naming.span)
        .ok()
        .map(|regex| (reg.naming.span.clone(), regex));
    Conventions {
        display,
        files,
        embed,
        flows: reg
            .flows
            .iter()
            .map(|(name, flow)| (name.clone(), flow.steps.keys().cloned().collect()))
            .collect(),
        metrics: reg
            .metrics
            .iter()
            .map(|(name, m)| (name.clone(), m.saturation.is_some()))
            .collect(),
        attributes: reg
            .attributes
            .iter()
            .map(|(name, a)| {
                (
                    name.clone(),
                    AttributeInfo {
                        ty: a.ty,
                        values: a.values.clone(),
                        pii: a.pii,
                        redact: a.redact.unwrap_or_default(),
                    },
                )
            })
            .collect(),
        events: reg
            .events
            .iter()
            .map(|(name, e)| {
                (
                    name.clone(),
                    EventInfo {
                        severity: e.severity,
                        attributes: e.all_attributes().map(str::to_string).collect(),
                        required: e.required_attributes.clone(),
                    },
                )
            })
            .collect(),
        span_pattern,
    }
}

/// " (did you mean `x`?)" or nothing.
fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(name, candidates)
        .map(|c| format!("\nhelp: did you mean `{c}`?"))
        .unwrap_or_default()
}

fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

impl Conventions {
    /// Checks that `name` is a declared saturation signal (a metric with `saturation`).
    pub fn saturation(&self, name: &str, span: Span) -> syn::Result<()> {
        let signals = || {
            self.metrics
                .iter()
                .filter(|(_, s)| *s)
                .map(|(m, _)| m.as_str())
        };
        match self.metrics.iter().find(|(m, _)| m == name) {
            Some((_, true)) => Ok(()),
            Some((_, false)) => Err(syn::Error::new(
                span,
                format!(
                    "metric `{name}` is not a saturation signal: the conventions at `{}` declare no `saturation` limit for it\n\
                     help: add `saturation: {{limit: N}}` to the metric (an `updown_counter` or `gauge`)\n\
                     note: declared saturation signals: {}",
                    self.display,
                    list(signals()),
                ),
            )),
            None => Err(syn::Error::new(
                span,
                format!(
                    "unknown saturation signal `{name}`: the conventions at `{}` declare no such metric{}\n\
                     note: declared saturation signals: {}",
                    self.display,
                    suggest(name, signals()),
                    list(signals()),
                ),
            )),
        }
    }

    /// Checks that `name` is a declared flow.
    pub fn flow(&self, name: &str, span: Span) -> syn::Result<()> {
        if self.flows.iter().any(|(f, _)| f == name) {
            return Ok(());
        }
        let flows = || self.flows.iter().map(|(f, _)| f.as_str());
        Err(syn::Error::new(
            span,
            format!(
                "unknown flow `{name}`: the conventions at `{}` declare no such flow{}\n\
                 note: declared flows: {}",
                self.display,
                suggest(name, flows()),
                list(flows()),
            ),
        ))
    }

    /// Checks that `step` is declared, under `flow` when the attribute names one.
    pub fn step(&self, step: &str, step_span: Span, flow: Option<(&str, Span)>) -> syn::Result<()> {
        let owners: Vec<&str> = self
            .flows
            .iter()
            .filter(|(_, steps)| steps.iter().any(|s| s == step))
            .map(|(f, _)| f.as_str())
            .collect();
        match flow {
            Some((flow, flow_span)) => {
                self.flow(flow, flow_span)?;
                if owners.contains(&flow) {
                    return Ok(());
                }
                let steps = self
                    .flows
                    .iter()
                    .find(|(f, _)| f == flow)
                    .map(|(_, s)| s.as_slice())
                    .unwrap_or_default();
                let message = if owners.is_empty() {
                    format!(
                        "unknown step `{step}`: flow `{flow}` declares no such step{}\n\
                         note: steps of `{flow}`: {}",
                        suggest(step, steps.iter().map(String::as_str)),
                        list(steps.iter().map(String::as_str)),
                    )
                } else {
                    format!(
                        "step `{step}` belongs to flow {}, not to `{flow}`\n\
                         help: name the flow the step is declared under, or declare `{step}` \
                         under `{flow}` in the conventions\n\
                         note: steps of `{flow}`: {}",
                        list(owners.iter().copied()),
                        list(steps.iter().map(String::as_str)),
                    )
                };
                Err(syn::Error::new(step_span, message))
            }
            None if !owners.is_empty() => Ok(()),
            None => {
                let all = self
                    .flows
                    .iter()
                    .flat_map(|(_, steps)| steps.iter().map(String::as_str));
                Err(syn::Error::new(
                    step_span,
                    format!(
                        "unknown step `{step}`: no flow in the conventions at `{}` declares it{}",
                        self.display,
                        suggest(step, all),
                    ),
                ))
            }
        }
    }

    /// The declaration of a `fields(...)` key, or an error naming the closest declared key.
    pub fn attribute(&self, named: &Named) -> syn::Result<&AttributeInfo> {
        let key = named.value.as_str();
        self.attributes.get(key).ok_or_else(|| {
            named.error(format!(
                "undeclared attribute `{key}`: the conventions at `{}` do not declare it{}\n\
                     note: every recorded key must be declared under `attributes:` so it has a \
                     type, a value limit and a PII marking",
                self.display,
                suggest(key, self.attributes.keys().map(String::as_str)),
            ))
        })
    }

    /// The declaration of event `name`, or an error naming the closest declared event.
    pub fn event(&self, name: &str, span: Span) -> syn::Result<&EventInfo> {
        if let Some((_, e)) = self.events.iter().find(|(n, _)| n == name) {
            return Ok(e);
        }
        let events = || self.events.iter().map(|(n, _)| n.as_str());
        Err(syn::Error::new(
            span,
            format!(
                "unknown event `{name}`: the conventions at `{}` declare no such event{}\n\
                 note: declared events: {}",
                self.display,
                suggest(name, events()),
                list(events()),
            ),
        ))
    }

    /// The declaration of a key given to event `event`: a declared attribute the event lists,
    /// or an error naming the closest key the event lists.
    pub fn event_attribute(
        &self,
        event: &str,
        info: &EventInfo,
        named: &Named,
    ) -> syn::Result<&AttributeInfo> {
        let key = named.value.as_str();
        let listed = || info.attributes.iter().map(String::as_str);
        match self.attributes.get(key) {
            Some(a) if info.attributes.iter().any(|k| k == key) => Ok(a),
            Some(_) => Err(named.error(format!(
                "event `{event}` does not list attribute `{key}` in the conventions at `{}`{}\n\
                 help: add `{key}` to the event's `attributes:` if it belongs there\n\
                 note: attributes of `{event}`: {}",
                self.display,
                suggest(key, listed()),
                list(listed()),
            ))),
            None => {
                let hint = did_you_mean(key, listed())
                    .or_else(|| did_you_mean(key, self.attributes.keys().map(String::as_str)))
                    .map(|c| format!("\nhelp: did you mean `{c}`?"))
                    .unwrap_or_default();
                Err(named.error(format!(
                    "undeclared attribute `{key}`: the conventions at `{}` do not declare it{hint}\n\
                     note: attributes of `{event}`: {}",
                    self.display,
                    list(listed()),
                )))
            }
        }
    }

    /// Checks a span name against the registry's `naming.span` pattern.
    pub fn span_name(&self, name: &str, span: Span) -> syn::Result<()> {
        match &self.span_pattern {
            Some((source, regex)) if !regex.is_match(name) => Err(syn::Error::new(
                span,
                format!(
                    "span name `{name}` does not match the conventions' `naming.span` pattern `{source}`"
                ),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_metadata_table_only() {
        let manifest = "[package]\nname = \"x\"\nconventions = \"no\"\n\n\
                        [package.metadata.flowtel]\nconventions = \"../conventions\" # shared\n\
                        [dependencies]\n";
        assert_eq!(
            metadata_conventions(manifest).as_deref(),
            Some("../conventions")
        );
        assert_eq!(metadata_conventions("[package]\nname = \"x\"\n"), None);
    }

    fn bundled() -> Conventions {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
        let entry = load(&root);
        Arc::try_unwrap(entry.result.expect("bundled conventions load")).expect("sole owner")
    }

    #[test]
    fn suggests_the_closest_flow_and_step() {
        let c = bundled();
        let e = c
            .flow("chekout", Span::call_site())
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `checkout`?"), "{e}");
        let e = c
            .step("payment.authorise", Span::call_site(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `payment.authorize`?"), "{e}");
        let e = c
            .step(
                "payment.authorize",
                Span::call_site(),
                Some(("login", Span::call_site())),
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("belongs to flow `checkout`, not to `login`"),
            "{e}"
        );
        assert!(
            c.step(
                "cart.load",
                Span::call_site(),
                Some(("checkout", Span::call_site()))
            )
            .is_ok()
        );
    }

    #[test]
    fn broken_registry_is_one_message() {
        let dir =
            std::env::temp_dir().join(format!("flowtel-macros-broken-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("flowtel.yaml");
        std::fs::write(
            &file,
            "schema: flowtel/v1\nname: x\nversion: 1.0\nflows: [\n",
        )
        .unwrap();
        let entry = load(&file);
        let message = entry.result.unwrap_err();
        assert!(
            message.starts_with("the flowtel conventions at"),
            "{message}"
        );
        assert!(message.contains("help: run `flowtel check"), "{message}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
