//! Flow analysis from traces.
//!
//! `flowtel-analyze` answers the questions an on-call engineer asks of exported traces: which
//! flow each trace belongs to and how complete the traces are ([`trace`], [`completeness`]),
//! which services call which and how healthy each dependency is, what the critical path of a
//! flow is and where its tail latency comes from, whether any step is over its budget, and
//! whether a release made a flow or step slower than the one before ([`regress`]). It
//! reads telemetry through `flowtel-otlp` and the conventions through `flowtel-conventions`,
//! and produces plain data (serializable structs); rendering is separate.
//!
//! ```no_run
//! # let reg: flowtel_conventions::Registry = unimplemented!();
//! use flowtel_analyze::TraceSet;
//! let set = TraceSet::read(&["traces.jsonl".into()], &Default::default(), &reg);
//! for trace in &set.traces {
//!     println!("{} {:?} {} spans", trace.trace_id, set.flow_of(trace), trace.len());
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aggregates;
pub mod completeness;
pub mod critical;
pub mod flows;
pub mod html;
pub mod latency;
pub mod map;
pub mod regress;
pub mod render;
pub mod stats;
pub mod stream;
pub mod strings;
pub mod synth;
pub mod trace;

#[cfg(test)]
mod testing;

pub use completeness::Completeness;
pub use strings::{Strings, Sym};
pub use trace::{
    AssemblyOptions, AssemblyStats, FlowSource, Kind, NO_PARENT, SampledInput, Span, Trace,
    TraceSet, TraceSetBuilder,
};
