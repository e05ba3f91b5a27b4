//! What flowtel's tests and benchmarks share, in one place instead of a copy per crate: where
//! the workspace is, the Python interpreter with the OpenTelemetry SDK, a free port, and (behind
//! features) the bundled conventions, OpenTelemetry SDK pipelines that discard what they get,
//! and the `opentelemetry-proto` baseline reader of OTLP JSON lines.
//!
//! A dev-dependency only (`publish = false`); nothing in a published crate uses it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::PathBuf;

#[cfg(feature = "otel")]
pub mod otel;
#[cfg(feature = "proto")]
pub mod proto;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python interpreter with the OpenTelemetry SDK: `$FLOWTEL_PYTHON`, by default
/// `<workspace>/.venv/bin/python`; `None` (the caller skips, and says so on stdout) when
/// `FLOWTEL_SKIP_PYTHON=1`.
///
/// # Panics
/// When there is no interpreter at that path, with what to do about it.
pub fn python() -> Option<PathBuf> {
    if std::env::var("FLOWTEL_SKIP_PYTHON").as_deref() == Ok("1") {
        println!("skipped: FLOWTEL_SKIP_PYTHON=1");
        return None;
    }
    let python = std::env::var_os("FLOWTEL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "no Python interpreter at {}: run `.ci/run` or create the virtualenv with \
         `python3 -m venv .venv && .venv/bin/pip install -r .ci/requirements-python.txt` \
         (or set FLOWTEL_PYTHON, or FLOWTEL_SKIP_PYTHON=1 to skip)",
        python.display()
    );
    Some(python)
}

/// A TCP port of 127.0.0.1 that was free a moment ago (the listener that found it is closed).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// The bundled `conventions/` registry (`platform.yaml` and `shop.yaml`, rooted at
/// `shop.yaml`), loaded from text as `flowtel::conventions!()` embeds it.
///
/// # Panics
/// When the bundled conventions cannot be read or load with errors.
#[cfg(feature = "conventions")]
pub fn bundled_conventions() -> flowtel_conventions::Registry {
    let root = workspace().join("conventions");
    let files: Vec<(String, String)> = ["platform.yaml", "shop.yaml"]
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(root.join(f))
                .unwrap_or_else(|e| panic!("bundled conventions {f}: {e}"));
            (f.to_string(), text)
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    without_errors(
        flowtel_conventions::load::load_embedded("shop.yaml", &refs),
        "bundled conventions",
    )
}

/// The registry of `loaded`, which must have loaded without errors (`what` names it in the
/// panic message).
///
/// # Panics
/// When `loaded` has a finding of severity error or worse, or no registry.
#[cfg(feature = "conventions")]
pub fn without_errors(
    loaded: flowtel_conventions::Loaded,
    what: &str,
) -> flowtel_conventions::Registry {
    let errors: Vec<_> = loaded
        .findings
        .iter()
        .filter(|f| f.severity >= flowtel_conventions::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
    loaded.registry.expect(what)
}

/// A flow span as `#[flowtel::flow]` opens it, for a flow named by a literal: the span's name
/// is the flow, so flowtel's sampler decides a root before the span is built. Expands to
/// `tracing::info_span!`; the calling crate depends on `tracing`.
#[macro_export]
macro_rules! flow_span {
    ($name:literal) => {
        ::tracing::info_span!(
            target: "flowtel::flow",
            $name,
            flowtel.kind = "flow",
            flow.name = $name,
            otel.name = $name,
            outcome = ::tracing::field::Empty,
            error.type = ::tracing::field::Empty,
        )
    };
}
