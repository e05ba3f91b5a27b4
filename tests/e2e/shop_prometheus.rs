//! The shop's SLOs in a real Prometheus (Debian's `prometheus`): the rules `flowtel slo`
//! generates are loaded, the services are scraped on 127.0.0.1, and the flows' SLIs evaluate on
//! the shop's real metrics. With `--fail catalog=10%`, browse (which calls the catalog) burns
//! its error budget at many times the sustainable rate while checkout (which does not) burns
//! none; with `--saturate orders` the early warning on the orders queue's growth is pending.
//! Skipped with a message when Prometheus is not installed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flowtel_e2e::{Prometheus, binary, run, workspace};

/// Kills the shop if the test fails while it runs.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_flow_slis_evaluate_on_the_shops_metrics_and_a_failing_catalog_burns_browse_budget() {
    if !Prometheus::installed() {
        eprintln!("skipped: prometheus is not installed (apt-get install prometheus)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    let out = run("flowtel", &["slo", "-o", rules.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    // The rule files (the generator's manifest beside them is not one).
    let rule_files: Vec<_> = std::fs::read_dir(&rules)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    assert!(!rule_files.is_empty());
    let targets = dir.path().join("targets.json");
    std::fs::write(&targets, "[]\n").unwrap();
    let prometheus = Prometheus::start(&dir.path().join("prometheus"), &rule_files, &targets)
        .expect("prometheus starts");

    let mut shop = Running(
        Command::new(binary("example-shop"))
            .current_dir(workspace())
            .arg("--out")
            .arg(dir.path().join("shop"))
            .args(["--duration", "14s", "--rate", "80", "--fail", "catalog=10%"])
            .args(["--saturate", "orders", "--drain", "1s"])
            .arg("--metrics-targets")
            .arg(&targets)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run the shop"),
    );
    let started = Instant::now();
    let (mut checkout_sli, mut browse_burn, mut checkout_burn, mut up) = (None, None, None, 0.0);
    let mut saturation_warning = Vec::new();
    while started.elapsed() < Duration::from_secs(40) {
        if shop.0.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
        // The most targets up at once (they go away as the shop shuts down).
        if let Some(v) = prometheus.value(r#"count(up == 1)"#) {
            up = f64::max(up, v);
        }
        let sli = prometheus
            .value(r#"1 - flow:slo_error_ratio:rate5m{flow_name="checkout",sli="availability"}"#);
        let browse =
            prometheus.value(r#"flow:slo_burn_rate:rate5m{flow_name="browse",sli="availability"}"#);
        let checkout = prometheus
            .value(r#"flow:slo_burn_rate:rate5m{flow_name="checkout",sli="availability"}"#);
        if let Ok(alerts) = prometheus.query(
            r#"ALERTS{alertname="CheckoutSaturationGrowthOrdersQueueDepth",alertstate="pending"}"#,
        ) && !alerts.is_empty()
        {
            saturation_warning = alerts;
        }
        if sli.is_some() && browse.is_some() && checkout.is_some() {
            (checkout_sli, browse_burn, checkout_burn) = (sli, browse, checkout);
        }
    }
    let status = shop.0.wait().unwrap();
    assert!(status.success(), "the shop failed: {status}");
    println!(
        "targets up {up}; checkout availability SLI {checkout_sli:?}, burn rates: browse {browse_burn:?}, checkout {checkout_burn:?}"
    );
    assert_eq!(up, 5.0, "every service is scraped");
    // The SLI is computed from the shop's own requests: checkout has no failing dependency.
    let sli = checkout_sli.expect("checkout's availability SLI evaluated");
    assert!(sli > 0.99 && sli <= 1.0, "{sli}");
    assert!(checkout_burn.unwrap() < 1.0, "{checkout_burn:?}");
    // 10% of catalog calls fail; browse's budget is 0.1%: a burn rate near 100x, far over the
    // 14.4x that pages.
    let burn = browse_burn.expect("browse's burn rate evaluated");
    assert!(burn > 14.4, "browse burn rate {burn}");
    // The saturated orders worker: its queue grows towards the declared limit, and the early
    // warning on checkout's path is pending (it fires after its `for: 15m`), naming the worker.
    assert!(
        saturation_warning
            .iter()
            .any(|(labels, _)| labels["job"] == "orders" && labels["queue_name"] == "confirmations"),
        "{saturation_warning:?}"
    );
}
