//! `flowtel map`, `flowtel critical-path`, `flowtel latency` and `flowtel report`: flow analysis
//! of exported traces. The work is `flowtel_analyze`; this module reads arguments, picks the
//! renderer and the exit code.

use std::path::PathBuf;

use flowtel_analyze::completeness::{Completeness, DEFAULT_MAX_PARTIAL};
use flowtel_analyze::trace::{AssemblyOptions, DEFAULT_MAX_TRACE_SPANS, TraceSetBuilder};
use flowtel_analyze::{TraceSet, critical, flows, html, latency, map, render};
use flowtel_conventions::report::{self, Section};
use flowtel_conventions::{Finding, Registry, Severity};
use flowtel_otlp::ReadOptions;
use serde_json::json;

use flowtel_conventions::output::{Format, Formats};

use crate::common::{GlobalArgs, io_finding, print_out, write_atomic};

/// The formats of `flowtel map`.
pub const MAP_FORMATS: Formats = Formats::new(
    "map",
    &[
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Mermaid,
        Format::Dot,
        Format::Svg,
    ],
);
/// The formats of `flowtel critical-path`.
pub const CRITICAL_PATH_FORMATS: Formats = Formats::new(
    "critical-path",
    &[Format::Human, Format::Json, Format::Sarif],
);
/// The formats of `flowtel latency`.
pub const LATENCY_FORMATS: Formats =
    Formats::new("latency", &[Format::Human, Format::Json, Format::Sarif]);
/// The formats of `flowtel report` (the page itself is HTML; the others describe the run when
/// the page goes to `-o`).
pub const REPORT_FORMATS: Formats = Formats::new(
    "report",
    &[Format::Human, Format::Json, Format::Sarif, Format::Html],
);

/// Arguments every analysis command takes.
#[derive(clap::Args, Debug)]
pub struct Inputs {
    /// Trace inputs: files (OTLP JSON lines or documents, OTLP protobuf, optionally
    /// gzip-compressed) or `-` for stdin. One trace may be spread over several inputs.
    #[arg(required = true, value_name = "TRACES")]
    pub inputs: Vec<String>,
    /// Only this flow.
    #[arg(long, value_name = "FLOW")]
    pub flow: Option<String>,
    /// Share of partial traces per flow over which the run fails (0.05 = 5%).
    #[arg(long, default_value_t = DEFAULT_MAX_PARTIAL, value_name = "RATIO")]
    pub max_partial: f64,
    /// Spans kept per trace; the rest are counted and skipped.
    #[arg(long, default_value_t = DEFAULT_MAX_TRACE_SPANS, value_name = "N")]
    pub max_trace_spans: u32,
    /// Largest batch (a JSON line, a document, a protobuf message) accepted.
    #[arg(long, default_value_t = flowtel_otlp::DEFAULT_MAX_BATCH_BYTES, value_name = "BYTES")]
    pub max_batch_bytes: usize,
}

/// `flowtel map` arguments.
#[derive(clap::Args, Debug)]
pub struct MapArgs {
    #[command(flatten)]
    inputs: Inputs,
}

/// `flowtel critical-path` arguments.
#[derive(clap::Args, Debug)]
pub struct CriticalPathArgs {
    #[command(flatten)]
    inputs: Inputs,
}

/// `flowtel latency` arguments.
#[derive(clap::Args, Debug)]
pub struct LatencyArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Exit 1 when a budget or SLO latency threshold is exceeded (`--deny-over-budget=false`
    /// to only report).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    deny_over_budget: bool,
}

/// `flowtel report` arguments.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Where to write the HTML page (a file, or a folder to get `report.html` in it); stdout
    /// without it.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
}

struct Loaded {
    reg: Registry,
    set: TraceSet,
    findings: Vec<Finding>,
}

/// Loads the conventions and assembles the traces; `Err(code)` when nothing can be analysed.
/// What every analysis command does first: accept its `--format`, then read its traces.
fn start(global: &GlobalArgs, formats: &Formats, inputs: &Inputs) -> Result<(Format, Loaded), i32> {
    let format = global.format_for(formats)?;
    Ok((format, load(global, inputs)?))
}

fn load(global: &GlobalArgs, inputs: &Inputs) -> Result<Loaded, i32> {
    let reg = global.load_conventions()?;
    let options = ReadOptions {
        max_batch_bytes: inputs.max_batch_bytes,
        ..ReadOptions::default()
    };
    let mut builder = TraceSetBuilder::new(
        &reg,
        AssemblyOptions {
            max_trace_spans: inputs.max_trace_spans,
        },
    );
    flowtel_otlp::read_inputs(&inputs.inputs, &options, &mut builder);
    let set = builder.finish();
    let mut findings = set.findings.clone();
    if !(0.0..=1.0).contains(&inputs.max_partial) {
        return Err(global.emit(
            &[Finding::new(
                &flowtel_conventions::rules::registry::UNREADABLE_INPUT,
                format!(
                    "`--max-partial {}` is not a ratio between 0 and 1",
                    inputs.max_partial
                ),
            )
            .severity(Severity::Fatal)],
            None,
        ));
    }
    if let Some(flow) = &inputs.flow
        && !set
            .traces
            .iter()
            .any(|t| set.flow_of(t) == Some(flow.as_str()))
        && !set.has_input_errors()
    {
        let known: Vec<&str> = reg.flows.keys().map(String::as_str).collect();
        let f = Finding::new(
            &flowtel_conventions::rules::registry::UNREADABLE_INPUT,
            format!("no trace of flow `{flow}` in the inputs"),
        )
        .severity(Severity::Fatal)
        .maybe_help(
            flowtel_conventions::finding::did_you_mean(flow, known.iter().copied())
                .map(|s| format!("a flow with a similar name exists: `{s}`")),
        );
        return Err(global.emit(&[f], None));
    }
    findings.extend(Completeness::of(&set).findings(inputs.max_partial));
    Ok(Loaded { reg, set, findings })
}

/// Prints `text` (human), or the JSON document with `sections`, then the findings; returns the
/// exit code.
fn emit(
    global: &GlobalArgs,
    format: Format,
    human: &str,
    sections: &[Section],
    findings: &[Finding],
) -> i32 {
    let disk = report::DiskSource::default();
    match format {
        Format::Json | Format::Sarif => {
            let doc = report::Findings {
                list: findings,
                max_examples: Some(3),
                sections,
            };
            global.print_with(&doc, format, None);
        }
        _ => {
            print_out(human);
            if !findings.is_empty() {
                print_out(&report::human_grouped(findings, &disk, global.color(), 3));
            }
        }
    }
    flowtel_conventions::exit_code(findings, global.deny_warnings)
}

fn maps(set: &TraceSet, flow: Option<&str>) -> Vec<map::ServiceMap> {
    match flow {
        Some(f) => vec![map::ServiceMap::build(set, Some(f))],
        None => {
            let mut out = vec![map::ServiceMap::build(set, None)];
            let mut seen: Vec<&str> = Vec::new();
            for t in &set.traces {
                if let Some(f) = set.flow_of(t)
                    && !seen.contains(&f)
                {
                    seen.push(f);
                }
            }
            out.extend(
                seen.into_iter()
                    .map(|f| map::ServiceMap::build(set, Some(f))),
            );
            out
        }
    }
}

/// The `sampling` section of the JSON document when the input was sampled.
fn sampling_section(sampled: Option<flowtel_analyze::SampledInput>) -> Option<Section> {
    sampled.map(|s| Section {
        key: "sampling",
        value: serde_json::to_value(s).unwrap_or_default(),
        human: String::new(),
    })
}

/// `flowtel map`.
pub fn run_map(global: &GlobalArgs, args: MapArgs) -> i32 {
    let (format, loaded) = match start(global, &MAP_FORMATS, &args.inputs) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let maps = maps(&loaded.set, args.inputs.flow.as_deref());
    let mut findings = loaded.findings;
    // Amplification is reported once, on the overall (or the chosen flow's) map.
    findings.extend(maps[0].findings());
    let sampled = {
        let set = &loaded.set;
        let flow = args.inputs.flow.as_deref();
        set.sampled_among(
            set.traces
                .iter()
                .filter(|t| flow.is_none() || set.flow_of(t) == flow),
        )
    };
    flowtel_conventions::settle(&mut findings, &loaded.reg.lint);
    let fatal = findings.iter().any(|f| f.severity == Severity::Fatal);
    let output = render::MapOutput {
        maps: &maps,
        sampled,
        findings: &findings,
    };
    // A diagram on stdout is the diagram alone (it is piped to a renderer); what else there is
    // to say goes to stderr. An input error is reported as findings whatever the format.
    let format = match format {
        Format::Mermaid | Format::Dot | Format::Svg if fatal => Format::Human,
        other => other,
    };
    global.print_with(&output, format, None);
    if matches!(format, Format::Mermaid | Format::Dot | Format::Svg) {
        if let Some(note) = &sampled {
            eprintln!("note: {}", note.note());
        }
        for f in &findings {
            eprintln!("{}: {}", f.severity, f.message);
        }
    }
    flowtel_conventions::exit_code(&findings, global.deny_warnings)
}

/// `flowtel critical-path`.
pub fn run_critical_path(global: &GlobalArgs, args: CriticalPathArgs) -> i32 {
    let (format, loaded) = match start(global, &CRITICAL_PATH_FORMATS, &args.inputs) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let set = &loaded.set;
    let mut paths = critical::paths(set);
    if let Some(f) = &args.inputs.flow {
        paths.retain(|p| set.flow_of(&set.traces[p.trace as usize]) == Some(f.as_str()));
    }
    let flows = flows::aggregate(set, &paths);
    let sampled = set.sampled_among(paths.iter().map(|p| &set.traces[p.trace as usize]));
    let mut human = render::critical_human(&flows);
    if let Some(note) = &sampled {
        human.push_str(&note.note());
        human.push('\n');
    }
    let mut sections = if format == Format::Human {
        Vec::new()
    } else {
        let traces: Vec<critical::TraceReport> = paths.iter().map(|p| p.report(set)).collect();
        vec![
            Section {
                key: "flows",
                value: serde_json::to_value(&flows).unwrap_or_default(),
                human: String::new(),
            },
            Section {
                key: "traces",
                value: serde_json::to_value(&traces).unwrap_or_default(),
                human: String::new(),
            },
        ]
    };
    sections.extend(sampling_section(sampled));
    emit(global, format, &human, &sections, &loaded.findings)
}

/// `flowtel latency`.
pub fn run_latency(global: &GlobalArgs, args: LatencyArgs) -> i32 {
    let (format, loaded) = match start(global, &LATENCY_FORMATS, &args.inputs) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let mut report = latency::LatencyReport::of(&loaded.set, &loaded.reg);
    if let Some(f) = &args.inputs.flow {
        report.flows.retain(|x| &x.flow == f);
    }
    let mut findings = loaded.findings;
    for mut f in report.findings() {
        if !args.deny_over_budget {
            f.severity = Severity::Warning;
        }
        findings.push(f);
    }
    let section = Section {
        key: "latency",
        value: serde_json::to_value(&report).unwrap_or_default(),
        human: String::new(),
    };
    emit(
        global,
        format,
        &render::latency_human(&report),
        &[section],
        &findings,
    )
}

/// `flowtel report`.
pub fn run_report(global: &GlobalArgs, args: ReportArgs) -> i32 {
    let (format, loaded) = match start(global, &REPORT_FORMATS, &args.inputs) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let set = &loaded.set;
    if set.has_input_errors() {
        return global.emit(&loaded.findings, None);
    }
    let mut paths = critical::paths(set);
    if let Some(f) = &args.inputs.flow {
        paths.retain(|p| set.flow_of(&set.traces[p.trace as usize]) == Some(f.as_str()));
    }
    let flows = flows::aggregate(set, &paths);
    let mut latency = latency::LatencyReport::of(set, &loaded.reg);
    if let Some(f) = &args.inputs.flow {
        latency.flows.retain(|x| &x.flow == f);
    }
    let overall = map::ServiceMap::build(set, args.inputs.flow.as_deref());
    let completeness = Completeness::of(set);
    let mut findings = loaded.findings;
    findings.extend(overall.findings());
    findings.extend(latency.findings());
    let page = html::report(&html::ReportInput {
        title: &loaded.reg.name,
        set,
        map: &overall,
        flows: &flows,
        paths: &paths,
        latency: &latency,
        completeness: &completeness,
        findings: &findings,
    });
    match &args.output {
        Some(path) => {
            let path = if path.is_dir() {
                path.join("report.html")
            } else {
                path.clone()
            };
            if let Err(e) = write_atomic(&path, page.as_bytes()) {
                return global.emit(
                    &[io_finding(&path, "write", &e).severity(Severity::Fatal)],
                    None,
                );
            }
            let summary = json!({"report": path.display().to_string(), "flows": flows.len(), "traces": set.traces.len()});
            let section = Section {
                key: "report",
                value: summary,
                human: String::new(),
            };
            let human = format!(
                "wrote {} ({} traces, {} flows)\n",
                path.display(),
                set.traces.len(),
                flows.len()
            );
            emit(global, format, &human, &[section], &findings)
        }
        None => {
            print_out(&page);
            flowtel_conventions::exit_code(&findings, global.deny_warnings)
        }
    }
}
