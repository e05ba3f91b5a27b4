//! `flowtel regress` on the example shop: two runs of the unchanged shop pass; a run whose
//! payments service is slow only in the tail (one order in 50 takes 300 ms longer to authorize,
//! `EXAMPLE_PAYMENTS_DELAY_MS` / `EXAMPLE_PAYMENTS_DELAY_EVERY`)
//! fails on `checkout` and its `payment.authorize` step, with the median unchanged, and passes
//! on `login`, from traces and from the metric exports alike.

use std::path::Path;

use flowtel_e2e::{binary, conventions_for_regress, run, workspace};
use serde_json::Value;

fn shop(dir: &Path, name: &str, delay_ms: u64) -> String {
    let out = dir.join(name);
    let r = std::process::Command::new(binary("example-shop"))
        .args([
            "--out",
            out.to_str().unwrap(),
            "--requests",
            "1200",
            "--browse",
            "0",
        ])
        .current_dir(workspace())
        .env("EXAMPLE_PAYMENTS_DELAY_MS", delay_ms.to_string())
        .env("EXAMPLE_PAYMENTS_DELAY_EVERY", "50")
        .output()
        .expect("run the example");
    assert!(
        r.status.success(),
        "example failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    out.to_str().unwrap().to_string()
}

fn regress(conventions: &Path, before: &str, after: &str, file: &str) -> (i32, Value) {
    let r = run(
        "flowtel",
        &[
            "regress",
            "--conventions",
            conventions.to_str().unwrap(),
            "--format",
            "json",
            &format!("{before}/{file}"),
            "--",
            &format!("{after}/{file}"),
        ],
    );
    let doc: Value = serde_json::from_slice(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        )
    });
    (r.status.code().unwrap_or(-1), doc)
}

fn group<'a>(doc: &'a Value, flow: &str, step: Option<&str>) -> &'a Value {
    doc["regress"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["flow"] == flow && g["step"].as_str() == step)
        .unwrap_or_else(|| panic!("no group {flow} {step:?} in {doc:#}"))
}

#[test]
fn a_tail_only_slowdown_of_payments_fails_checkout_and_passes_login() {
    let dir = tempfile::tempdir().unwrap();
    // The three runs share the machine at the same time, so whatever else loads it (other
    // tests, other jobs) weighs on each alike instead of making one run look slower.
    let (a, b, slow) = std::thread::scope(|s| {
        let a = s.spawn(|| shop(dir.path(), "a", 0));
        let b = s.spawn(|| shop(dir.path(), "b", 0));
        let slow = s.spawn(|| shop(dir.path(), "slow", 300));
        (a.join().unwrap(), b.join().unwrap(), slow.join().unwrap())
    });

    let conventions = conventions_for_regress(dir.path(), "50ms");

    for file in ["traces.jsonl", "metrics.jsonl"] {
        // Unchanged: every flow and step passes.
        let (code, doc) = regress(&conventions, &a, &b, file);
        assert_eq!(code, 0, "{file}: {doc:#}");
        for g in doc["regress"]["groups"].as_array().unwrap() {
            assert_eq!(g["verdict"], "pass", "{file}: {g:#}");
        }

        // Payments slow in the tail: checkout fails on its P99, login passes.
        let (code, doc) = regress(&conventions, &a, &slow, file);
        assert_eq!(code, 1, "{file}: {doc:#}");
        let checkout = group(&doc, "checkout", None);
        assert_eq!(checkout["verdict"], "fail", "{file}: {checkout:#}");
        assert!(
            checkout["reason"]
                .as_str()
                .unwrap()
                .starts_with("checkout P99 "),
            "{file}: {checkout:#}"
        );
        let authorize = group(&doc, "checkout", Some("payment.authorize"));
        assert_eq!(authorize["verdict"], "fail", "{file}: {authorize:#}");
        let reason = authorize["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("checkout/payment.authorize P99 ")
                && reason.contains("P50 unchanged"),
            "{file}: {reason}"
        );
        assert_eq!(group(&doc, "login", None)["verdict"], "pass", "{file}");
        let failed: Vec<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(failed.contains(&"FT0901"), "{file}: {failed:?}");
        if file == "metrics.jsonl" {
            assert_eq!(checkout["source"]["metric"], "flow.duration");
            assert!(
                checkout["note"]
                    .as_str()
                    .unwrap()
                    .contains("the resolution is the bucket layout")
            );
        }
    }
}
