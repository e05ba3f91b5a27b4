//! `flowtel lint alerts` as a team uses it: a hand-written rule file with the usual mistakes gets
//! exactly those findings; every rule's fixture triggers it; the 90 public rule files of
//! `../shared/alert-rules` all parse (cross-checked with `promtool`), with a snapshot of their
//! signal-quality summary; Alertmanager routing agrees with `amtool`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use flowtel_conventions::{Registry, Severity, report};
use flowtel_lint::alerts::{AlertOptions, Input, lint_inputs, lint_paths};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    manifest().join("tests/fixtures/alerts")
}

/// `../shared/alert-rules` beside the workspace, or under `$FLOWTEL_SHARED`.
fn shared_rules() -> Option<PathBuf> {
    let shared = std::env::var_os("FLOWTEL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest().join("../../../shared"));
    let p = shared.join("alert-rules");
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: {} is absent", p.display());
        None
    }
}

fn tool(name: &str) -> Option<&'static str> {
    let found = Command::new(name).arg("--version").output().is_ok();
    if !found {
        println!("skipped: `{name}` is not installed (.ci/run installs it)");
    }
    found.then(|| {
        if name == "promtool" {
            "promtool"
        } else {
            "amtool"
        }
    })
}

fn team_registry() -> Registry {
    let loaded = flowtel_conventions::check(&fixtures().join("team/flowtel.yaml"));
    let errors: Vec<_> = loaded
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    loaded.registry.expect("registry")
}

fn with_conventions() -> AlertOptions {
    AlertOptions {
        check_metrics: true,
        ..AlertOptions::default()
    }
}

/// Paths in findings relative to the crate, so snapshots do not depend on the checkout.
fn relative(text: &str) -> String {
    text.replace(&format!("{}/", manifest().display()), "")
}

#[test]
fn a_team_rule_file_gets_exactly_its_mistakes() {
    let reg = team_registry();
    let path = fixtures().join("team/team.rules.yml");
    let report = lint_paths(Some(&reg), &[path], &with_conventions());
    let got: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| {
            let alert = f
                .subject
                .get("alert")
                .map(String::as_str)
                .unwrap_or_default();
            (f.rule.id, alert)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("FT0503", "CheckoutSlow"),
            ("FT0508", "CheckoutOrdersStalled"),
            ("FT0510", "CheckoutFailuresPerUser"),
            ("FT0504", "GatewayHighCpu"),
            ("FT0511", "LoginErrors"),
        ],
        "{:#?}",
        report.findings
    );
    // The burn-rate alert is clean, and counted as SLO-based and flow-aligned.
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.subject.get("alert").map(String::as_str) != Some("CheckoutErrorBudgetBurn"))
    );
    let typo = &report.findings[1];
    assert_eq!(
        typo.help.as_deref(),
        Some("did you mean `checkout_orders_total`?")
    );
    let q = report.quality;
    assert_eq!(
        (q.alerts, q.slo_based, q.cause_based, q.average_based),
        (6, 1, 1, 1)
    );
    assert_eq!(
        (q.pages, q.pages_on_causes, q.pages_after_cleanup),
        (3, 1, 1)
    );

    let human = report::human(&report.findings, &report::DiskSource::default(), false);
    insta::assert_snapshot!("team_rules_human", relative(&human));
}

#[test]
fn every_rule_fixture_triggers_its_rule() {
    let reg = team_registry();
    let dir = fixtures().join("rules");
    let mut seen = BTreeSet::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "yml")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("FT"))
        })
        .collect();
    entries.sort();
    for path in entries {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let id = &stem[..6];
        let text = std::fs::read_to_string(&path).unwrap();
        let am = (id == "FT0518" || id == "FT0519").then(|| Input {
            file: "am.yml".into(),
            text: std::fs::read_to_string(dir.join("alertmanager.yml")).unwrap(),
        });
        let opts = AlertOptions {
            alertmanager: am,
            ..with_conventions()
        };
        let report = lint_inputs(
            Some(&reg),
            &[Input {
                file: stem.clone(),
                text,
            }],
            &opts,
        );
        let ids: BTreeSet<&str> = report.findings.iter().map(|f| f.rule.id).collect();
        assert!(
            ids.contains(id),
            "{stem}: expected {id}, got {:#?}",
            report.findings
        );
        // Each fixture shows one mistake: nothing but its rule fires (besides the hygiene
        // rules its minimal alerts may also break).
        let others: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|i| *i != id && !["FT0505", "FT0511", "FT0513"].contains(i))
            .collect();
        assert!(others.is_empty(), "{stem}: also {others:?}");
        seen.insert(id.to_string());
    }
    let all: BTreeSet<String> = flowtel_conventions::rules::alerts::RULES
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(seen, all, "every alert rule has a fixture");
}

#[test]
fn a_clean_file_lints_clean() {
    let reg = team_registry();
    let text = std::fs::read_to_string(fixtures().join("clean.rules.yml")).unwrap();
    let report = lint_inputs(
        Some(&reg),
        &[Input {
            file: "clean.rules.yml".into(),
            text,
        }],
        &with_conventions(),
    );
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.quality.flow_aligned, report.quality.alerts);
}

#[test]
fn the_public_rule_files_all_parse_with_a_summary() {
    let Some(dir) = shared_rules() else { return };
    let report = lint_paths(None, &[dir], &AlertOptions::default());
    let broken: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Fatal || ["FT0501", "FT0502"].contains(&f.rule.id))
        .collect();
    assert!(broken.is_empty(), "{broken:#?}");
    assert_eq!(report.quality.files, 90);
    insta::assert_snapshot!("shared_alert_rules_summary", report.quality.to_string());
    insta::assert_json_snapshot!("shared_alert_rules_summary_json", report.quality);
}

/// `promtool check rules` and flowtel agree on every public file: the same number of rules,
/// and every expression promtool accepts parses.
#[test]
fn promtool_and_flowtel_read_the_same_rules() {
    let Some(dir) = shared_rules() else { return };
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let mut files: Vec<PathBuf> = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    let out = Command::new(promtool)
        .arg("check")
        .arg("rules")
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<usize> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("SUCCESS: "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(counts.len(), files.len());
    for (file, expected) in files.iter().zip(counts) {
        let rf = flowtel_lint::alerts::read::read_rule_file(
            "f",
            &std::fs::read_to_string(file).unwrap(),
        );
        assert!(rf.1.is_empty(), "{}: {:#?}", file.display(), rf.1);
        let rules: Vec<_> = rf.0.groups.iter().flat_map(|g| &g.rules).collect();
        assert_eq!(rules.len(), expected, "{}", file.display());
        for rule in rules {
            flowtel_lint::alerts::expr::analyze(&rule.expr.value)
                .unwrap_or_else(|e| panic!("{}: `{}`: {e}", file.display(), rule.expr.value));
        }
    }
}

/// Expressions promtool refuses are refused by flowtel too.
#[test]
fn promtool_and_flowtel_refuse_the_same_promql() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let bad = [
        "rate(x_total[5m] > 1",
        "sum by (job (up)",
        "up ==",
        "rate(up)",
        "histogram_quantile(0.9)",
        "up{job=~\"(\"}",
        "foo[5m] offset",
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, expr) in bad.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.yml"));
        let text = format!(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '{}'\n",
            expr.replace('\'', "''")
        );
        std::fs::write(&path, &text).unwrap();
        let promtool_ok = Command::new(promtool)
            .args(["check", "rules"])
            .arg(&path)
            .output()
            .unwrap()
            .status
            .success();
        assert!(!promtool_ok, "promtool accepts `{expr}`");
        assert!(
            flowtel_lint::alerts::expr::analyze(expr).is_err(),
            "flowtel accepts `{expr}`"
        );
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

/// flowtel routes alerts as Alertmanager does: for a set of label sets, the receivers agree
/// with `amtool config routes test`.
#[test]
fn alertmanager_routing_agrees_with_amtool() {
    let Some(amtool) = tool("amtool") else { return };
    let path = fixtures().join("rules/alertmanager.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (config, findings) = flowtel_lint::alerts::alertmanager::read_config("am.yml", &text);
    assert!(findings.is_empty(), "{findings:#?}");
    let config = config.unwrap();
    let cases: &[&[(&str, &str)]] = &[
        &[("alertname", "A")],
        &[("alertname", "A"), ("flow", "checkout")],
        &[
            ("alertname", "A"),
            ("flow", "checkout"),
            ("severity", "page"),
        ],
        &[("alertname", "A"), ("flow", "login"), ("severity", "page")],
        &[("alertname", "A"), ("flow", "browse")],
        &[("alertname", "A"), ("team", "void"), ("severity", "page")],
        &[("alertname", "A"), ("severity", "ticket")],
    ];
    for labels in cases {
        let owned: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ours: Vec<String> = config
            .route(&owned)
            .into_iter()
            .map(|d| d.receiver)
            .collect();
        let out = Command::new(amtool)
            .args(["config", "routes", "test", "--config.file"])
            .arg(&path)
            .args(labels.iter().map(|(k, v)| format!("{k}={v}")))
            .output()
            .unwrap();
        let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .trim()
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        assert_eq!(ours, theirs, "{labels:?}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any text is read without a panic; problems are findings with a place.
    #[test]
    fn any_text_reads_into_located_findings(text in "(?s).{0,300}") {
        let (_, findings) = flowtel_lint::alerts::read::read_rule_file("p.yml", &text);
        for f in &findings {
            proptest::prop_assert!(f.location.is_some());
        }
    }

    /// Any expression is parsed or refused without a panic, and a refused one is an FT0502
    /// finding on the `expr` line.
    #[test]
    fn any_expression_is_parsed_or_refused(expr in r#"[a-z_(){}\[\]=~!"0-9 +*/<>,:.^-]{0,60}"#) {
        let text = format!(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '{}'\n",
            expr.replace('\'', "''")
        );
        let report = lint_inputs(
            None,
            &[Input { file: "p.yml".into(), text }],
            &AlertOptions::default(),
        );
        let refused = flowtel_lint::alerts::expr::analyze(&expr).is_err();
        let reported = report.findings.iter().find(|f| f.rule.id == "FT0502");
        proptest::prop_assert_eq!(refused, reported.is_some());
        if let Some(f) = reported {
            proptest::prop_assert_eq!(f.location.as_ref().unwrap().line, 5);
        }
    }
}

/// The SLO recording rules and multi-window burn-rate alerts `flowtel slo` generates from the
/// bundled conventions lint clean, metric checks included, and count as flow-aligned and
/// SLO-based.
#[test]
fn generated_slo_rules_lint_clean() {
    let dir = manifest().join("../../conventions");
    let loaded = flowtel_conventions::check(&dir);
    let reg = loaded.registry.expect("bundled conventions");
    let out = flowtel_govern::Generator::Slo
        .generate(&reg, &flowtel_govern::Options::default())
        .unwrap_or_else(|f| panic!("{f:#?}"));
    let inputs: Vec<Input> = out
        .files
        .iter()
        .map(|a| Input {
            file: a.path.clone(),
            text: a.contents.clone(),
        })
        .collect();
    let report = lint_inputs(Some(&reg), &inputs, &with_conventions());
    let shown: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {} {:?}", f.rule.id, f.message, f.location))
        .collect();
    assert!(report.findings.is_empty(), "{shown:#?}");
    let q = report.quality;
    assert!(q.alerts > 0 && q.recording_rules > 0, "{q:?}");
    assert_eq!(q.flow_aligned, q.alerts, "{q:?}");
    assert_eq!(q.cause_based + q.average_based, 0, "{q:?}");
    assert!(q.slo_based > 0, "{q:?}");
}
