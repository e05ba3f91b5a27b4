//! `cargo xtask demo`: the whole story on the example shop in one command.
//!
//! Builds `flowtel` and the shop (release, cargo's own progress on screen), checks the
//! conventions, generates the governance artifacts from them (SLO rules and alerts, Alertmanager
//! routes, OpenSLO, Collector sampling, and dashboards and runbooks where the `flowtel` build has
//! them), starts Prometheus on 127.0.0.1 with the SLO rules when it is installed, runs the shop
//! for a set time (a progress line every 5 s) with its OTLP JSON under `target/demo/`, queries
//! the flows' SLIs from Prometheus while it runs, then lints the telemetry and the sources, and
//! writes the map, the critical paths, the latency against the budgets and the HTML report. It
//! ends with a summary in words.
//!
//! `--release-check` runs the shop twice, as it is and with a tail fault in payments, and shows
//! `flowtel regress` failing the release. `--duration 30s` sets the run's length; arguments
//! after `--` go to the shop (faults: `-- --fail catalog=2% --slow payments=p99:400ms`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flowtel_e2e::Prometheus;
use serde_json::Value;

use crate::{cargo, root, run};

struct Options {
    release_check: bool,
    duration: String,
    shop_args: Vec<String>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        release_check: false,
        duration: "30s".into(),
        shop_args: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--release-check" => o.release_check = true,
            "--duration" => {
                o.duration = it
                    .next()
                    .ok_or("--duration takes a duration (30s)")?
                    .clone()
            }
            "--" => o.shop_args.extend(it.by_ref().cloned()),
            other => {
                return Err(format!(
                    "demo: unknown argument `{other}`; usage: cargo xtask demo [--release-check] [--duration 30s] [-- SHOP ARGS]"
                ));
            }
        }
    }
    Ok(o)
}

/// The release binaries.
struct Bins {
    flowtel: PathBuf,
    shop: PathBuf,
}

impl Bins {
    fn flowtel(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.flowtel);
        c.current_dir(root()).args(args);
        c
    }

    /// Runs `flowtel ARGS --format json` and returns its exit code and document.
    fn json(&self, args: &[&str]) -> Result<(i32, Value), String> {
        // `--format json` right after the command name: behind a `--` (as `regress BEFORE --
        // AFTER` has) it would be read as two more input paths.
        let (command, rest) = args.split_first().ok_or("flowtel: no command")?;
        let with_format: Vec<&str> = [*command, "--format", "json"]
            .into_iter()
            .chain(rest.iter().copied())
            .collect();
        let out = self
            .flowtel(&with_format)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("flowtel {}: {e}", args.join(" ")))?;
        let doc = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "flowtel {}: not JSON ({e}): {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout)
            )
        })?;
        Ok((out.status.code().unwrap_or(-1), doc))
    }

    /// Runs `flowtel ARGS`, its output to `file`.
    fn to_file(&self, args: &[&str], file: &Path) -> Result<i32, String> {
        let out = self
            .flowtel(args)
            .output()
            .map_err(|e| format!("flowtel {}: {e}", args.join(" ")))?;
        std::fs::write(file, &out.stdout).map_err(|e| format!("{}: {e}", file.display()))?;
        Ok(out.status.code().unwrap_or(-1))
    }
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// What Prometheus said about the flows while the shop ran.
#[derive(Default)]
struct Slis {
    checkout_availability: Option<f64>,
    browse_burn_rate: Option<f64>,
    scraped_targets: usize,
}

/// Runs the shop with `args` (its OTLP JSON to `out`), polling `prometheus` every 2 s.
fn run_shop(
    bins: &Bins,
    out: &Path,
    args: &[String],
    prometheus: Option<(&Prometheus, &Path)>,
) -> Result<Slis, String> {
    let mut cmd = Command::new(&bins.shop);
    cmd.current_dir(root()).arg("--out").arg(out).args(args);
    if let Some((_, targets)) = prometheus {
        cmd.arg("--metrics-targets").arg(targets);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bins.shop.display()))?;
    let mut slis = Slis::default();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if let Some((p, _)) = prometheus
            && started.elapsed() > Duration::from_secs(6)
        {
            if let Some(v) = p.value(
                r#"1 - flow:slo_error_ratio:rate5m{flow_name="checkout",sli="availability"}"#,
            ) {
                slis.checkout_availability = Some(v);
            }
            if let Some(v) =
                p.value(r#"flow:slo_burn_rate:rate5m{flow_name="browse",sli="availability"}"#)
            {
                slis.browse_burn_rate = Some(v);
            }
            if let Some(v) = p.value(r#"count(up == 1)"#) {
                slis.scraped_targets = slis.scraped_targets.max(v as usize);
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    if !status.success() {
        return Err(format!("example-shop failed ({status})"));
    }
    Ok(slis)
}

fn ms(ns: f64) -> String {
    let ms = ns / 1e6;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

pub fn demo(args: &[String]) -> Result<(), String> {
    let o = options(args)?;
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "flowtel-cli",
        "-p",
        "example-shop",
    ]);
    run(
        "cargo build --release -p flowtel-cli -p example-shop",
        build,
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let bins = Bins {
        flowtel: target.join("release/flowtel"),
        shop: target.join("release/example-shop"),
    };
    let out = target.join("demo");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

    run(
        "flowtel check conventions/",
        bins.flowtel(&["check", "conventions/"]),
    )?;

    if o.release_check {
        return release_check(&bins, &out, &o);
    }

    eprintln!("== governance generated from the conventions");
    let mut generated = Vec::new();
    for (cmd, dir) in [
        ("slo", "rules"),
        ("alerts", "alertmanager"),
        ("openslo", "openslo"),
        ("sampling", "sampling"),
        ("dashboards", "dashboards"),
        ("runbooks", "runbooks"),
    ] {
        let available = bins
            .flowtel(&[cmd, "--help"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            continue;
        }
        let dir = out.join(dir);
        let dir_s = dir.to_string_lossy().into_owned();
        run(
            &format!("flowtel {cmd} -o {}", rel(&dir)),
            bins.flowtel(&[cmd, "-o", &dir_s]),
        )?;
        generated.push(rel(&dir));
    }

    let targets = out.join("targets.json");
    std::fs::write(&targets, "[]\n").map_err(|e| e.to_string())?;
    let prometheus = if Prometheus::installed() {
        let rules: Vec<PathBuf> = std::fs::read_dir(out.join("rules"))
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            // The rule files (the generator's manifest beside them is not one).
            .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
            .collect();
        let p = Prometheus::start(&out.join("prometheus"), &rules, &targets)?;
        eprintln!(
            "== Prometheus on http://127.0.0.1:{} with the SLO rules, scraping the shop",
            p.port
        );
        Some(p)
    } else {
        eprintln!(
            "== Prometheus is not installed: the SLO rules are not evaluated (apt-get install prometheus)"
        );
        None
    };

    let mut shop_args = vec!["--duration".to_string(), o.duration.clone()];
    shop_args.extend(o.shop_args.iter().cloned());
    eprintln!(
        "== example-shop {} (five services and a broker on 127.0.0.1)",
        shop_args.join(" ")
    );
    let slis = run_shop(
        &bins,
        &out,
        &shop_args,
        prometheus.as_ref().map(|p| (p, targets.as_path())),
    )?;
    drop(prometheus);

    let traces = out.join("traces.jsonl");
    let metrics = out.join("metrics.jsonl");
    let (traces_s, metrics_s) = (
        traces.to_string_lossy().into_owned(),
        metrics.to_string_lossy().into_owned(),
    );

    eprintln!(
        "== flowtel lint telemetry {} {}",
        rel(&traces),
        rel(&metrics)
    );
    let (_, lint) = bins.json(&["lint", "telemetry", &traces_s, &metrics_s])?;
    let violations = lint["summary"]["errors"].as_u64().unwrap_or(0)
        + lint["summary"]["warnings"].as_u64().unwrap_or(0);
    run(
        "flowtel lint source examples/",
        bins.flowtel(&["lint", "source", "examples/"]),
    )?;

    let map_txt = out.join("map.txt");
    bins.to_file(&["map", &traces_s], &map_txt)?;
    bins.to_file(
        &["map", &traces_s, "--format", "mermaid"],
        &out.join("map.mmd"),
    )?;
    bins.to_file(&["map", &traces_s, "--format", "svg"], &out.join("map.svg"))?;
    eprintln!("== flowtel map ({})", rel(&map_txt));
    eprint!("{}", std::fs::read_to_string(&map_txt).unwrap_or_default());

    let cp_txt = out.join("critical-path.txt");
    bins.to_file(&["critical-path", &traces_s], &cp_txt)?;
    eprintln!("== flowtel critical-path ({})", rel(&cp_txt));
    let (_, cp) = bins.json(&["critical-path", &traces_s])?;
    let lat_txt = out.join("latency.txt");
    bins.to_file(&["latency", &traces_s], &lat_txt)?;
    let (_, lat) = bins.json(&["latency", &traces_s])?;
    eprintln!("== flowtel latency ({})", rel(&lat_txt));
    eprint!("{}", std::fs::read_to_string(&lat_txt).unwrap_or_default());

    let report = out.join("report.html");
    let report_s = report.to_string_lossy().into_owned();
    let code = bins
        .flowtel(&["report", &traces_s, "-o", &report_s])
        .status()
        .map_err(|e| e.to_string())?
        .code();
    if !report.exists() {
        return Err(format!("flowtel report wrote nothing (exit {code:?})"));
    }

    // The summary, in words.
    println!();
    println!(
        "flowtel demo: the shop ran for {} (telemetry in {})",
        o.duration,
        rel(&out)
    );
    for flow in cp["flows"].as_array().into_iter().flatten() {
        let name = flow["flow"].as_str().unwrap_or("?");
        let p99 = flow["duration"]["p99"].as_f64().unwrap_or(0.0);
        let top = flow["services"]
            .as_array()
            .and_then(|s| {
                s.iter().max_by(|a, b| {
                    a["p99"]
                        .as_f64()
                        .unwrap_or(0.0)
                        .total_cmp(&b["p99"].as_f64().unwrap_or(0.0))
                })
            })
            .map(|s| {
                format!(
                    "{} {:.0}%",
                    s["service"].as_str().unwrap_or("?"),
                    s["p99"].as_f64().unwrap_or(0.0) * 100.0
                )
            })
            .unwrap_or_default();
        let step = flow["steps"]
            .as_array()
            .and_then(|s| {
                s.iter().max_by(|a, b| {
                    a["p99"]
                        .as_f64()
                        .unwrap_or(0.0)
                        .total_cmp(&b["p99"].as_f64().unwrap_or(0.0))
                })
            })
            .and_then(|s| s["step"].as_str())
            .unwrap_or("?");
        println!(
            "  {name} P99 {}, critical path: {top} (top step at P99: {step})",
            ms(p99)
        );
    }
    let mut over = Vec::new();
    for flow in lat["latency"]["flows"].as_array().into_iter().flatten() {
        for step in flow["steps"].as_array().into_iter().flatten() {
            for b in step["budgets"].as_array().into_iter().flatten() {
                if b["over"] == true {
                    over.push(format!(
                        "{} {} {} {} over its {} budget",
                        flow["flow"].as_str().unwrap_or("?"),
                        step["step"].as_str().unwrap_or("?"),
                        b["quantile"].as_str().unwrap_or("?").to_uppercase(),
                        ms(b["actual_ns"].as_f64().unwrap_or(0.0)),
                        ms(b["budget_ns"].as_f64().unwrap_or(0.0)),
                    ));
                }
            }
        }
        if flow["slo"]["over"] == true {
            over.push(format!(
                "{} misses its latency SLO",
                flow["flow"].as_str().unwrap_or("?")
            ));
        }
    }
    if over.is_empty() {
        println!("  all budgets met");
    } else {
        println!("  over budget: {}", over.join("; "));
    }
    println!("  {violations} convention violations in the exported telemetry");
    match (slis.checkout_availability, slis.browse_burn_rate) {
        (Some(a), b) => println!(
            "  Prometheus ({} targets scraped): checkout availability SLI {:.2}%, browse burn rate {} (5m)",
            slis.scraped_targets,
            a * 100.0,
            b.map_or("n/a".into(), |b| format!("{b:.1}x"))
        ),
        (None, _) if Prometheus::installed() => {
            println!("  Prometheus: no SLI value yet (run longer: --duration 30s)")
        }
        _ => {}
    }
    println!("  report: {}", rel(&report));
    println!(
        "  map: {}, {}, {}",
        rel(&map_txt),
        rel(&out.join("map.mmd")),
        rel(&out.join("map.svg"))
    );
    if !generated.is_empty() {
        println!("  generated: {}", generated.join(", "));
    }
    Ok(())
}

/// The shop as it is, then with payments slow in the tail: `flowtel regress` fails the release.
fn release_check(bins: &Bins, out: &Path, o: &Options) -> Result<(), String> {
    let before = out.join("before");
    let after = out.join("after");
    let base = vec!["--duration".to_string(), o.duration.clone()];
    eprintln!("== example-shop {} (the release before)", base.join(" "));
    run_shop(bins, &before, &base, None)?;
    let mut slow = base.clone();
    slow.extend(["--slow".to_string(), "payments=p96:400ms".to_string()]);
    eprintln!(
        "== example-shop {} (the release after: payments slow in the tail)",
        slow.join(" ")
    );
    run_shop(bins, &after, &slow, None)?;
    let b = before.join("traces.jsonl").to_string_lossy().into_owned();
    let a = after.join("traces.jsonl").to_string_lossy().into_owned();
    eprintln!(
        "== flowtel regress {} -- {}",
        rel(Path::new(&b)),
        rel(Path::new(&a))
    );
    let status = bins
        .flowtel(&["regress", &b, "--", &a])
        .status()
        .map_err(|e| e.to_string())?;
    let (_, doc) = bins.json(&["regress", &b, "--", &a])?;
    let failed: Vec<String> = doc["regress"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["verdict"] == "fail")
        .filter_map(|g| g["reason"].as_str().map(str::to_owned))
        .collect();
    println!();
    match status.code() {
        Some(1) => {
            println!("flowtel demo --release-check: flowtel regress fails the release (exit 1):");
            for r in &failed {
                println!("  {r}");
            }
            Ok(())
        }
        Some(0) => Err("flowtel regress passed a release with a tail fault in payments".into()),
        _ => Err(format!("flowtel regress failed to run ({status})")),
    }
}
