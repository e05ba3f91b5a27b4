//! `flowtel sampling` from the bundled conventions: snapshots of both Collector files, and
//! their structure checked against what the Collector documents for the `tail_sampling`
//! processor (policy types, each policy's settings under a key named by its type, `and`
//! sub-policies, `decision_wait`, `num_traces`) and the `loadbalancing` exporter (`protocol`,
//! one `resolver`, `routing_key`).

use std::path::Path;

use flowtel_govern::{Generator, Options, sampling};
use yaml_rust2::{Yaml, YamlLoader};

fn bundled() -> flowtel_conventions::Registry {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    flowtel_conventions::check(&path).registry.unwrap()
}

fn files() -> (String, String) {
    let out = Generator::Sampling
        .generate(&bundled(), &Options::default())
        .expect("sampling generates from the bundled conventions");
    let get = |name: &str| {
        out.files
            .iter()
            .find(|f| f.path == name)
            .unwrap()
            .contents
            .clone()
    };
    (get(sampling::LOADBALANCING_FILE), get(sampling::TAIL_FILE))
}

#[test]
fn snapshots() {
    let (lb, tail) = files();
    insta::assert_snapshot!("collector_loadbalancing", lb);
    insta::assert_snapshot!("collector_tail_sampling", tail);
}

fn check_policy(p: &Yaml, path: &str) {
    let name = p["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{path}: policy without name"));
    let ty = p["type"]
        .as_str()
        .unwrap_or_else(|| panic!("{path}/{name}: no type"));
    assert!(
        sampling::POLICY_TYPES.contains(&ty),
        "{path}/{name}: unknown type {ty}"
    );
    let settings = &p[ty];
    match ty {
        "and" => {
            let subs = settings["and_sub_policy"].as_vec().expect("and_sub_policy");
            assert!(subs.len() >= 2, "{path}/{name}");
            for s in subs {
                check_policy(s, &format!("{path}/{name}"));
            }
        }
        "string_attribute" => {
            assert!(settings["key"].as_str().is_some());
            assert!(!settings["values"].as_vec().unwrap().is_empty());
        }
        "status_code" => {
            let codes = settings["status_codes"].as_vec().unwrap();
            assert!(
                codes
                    .iter()
                    .all(|c| matches!(c.as_str(), Some("OK" | "ERROR" | "UNSET")))
            );
        }
        "latency" => assert!(settings["threshold_ms"].as_i64().unwrap() > 0),
        "probabilistic" => {
            let pct = match &settings["sampling_percentage"] {
                Yaml::Integer(i) => *i as f64,
                Yaml::Real(r) => r.parse().unwrap(),
                other => panic!("{path}/{name}: sampling_percentage {other:?}"),
            };
            assert!(pct > 0.0 && pct <= 100.0, "{path}/{name}: {pct}");
        }
        _ => {}
    }
}

#[test]
fn the_files_use_the_collectors_documented_keys() {
    let (lb, tail) = files();
    let tail = &YamlLoader::load_from_str(&tail).unwrap()[0];
    let ts = &tail["processors"]["tail_sampling"];
    assert_eq!(ts["decision_wait"].as_str(), Some("10s"));
    assert_eq!(ts["num_traces"].as_i64(), Some(50000));
    let policies = ts["policies"].as_vec().unwrap();
    for p in policies {
        check_policy(p, "policies");
    }
    // Per flow: errors, slow and ratio; browse keeps 10% of the rest, checkout all.
    let names: Vec<&str> = policies.iter().filter_map(|p| p["name"].as_str()).collect();
    for flow in ["login", "browse", "checkout"] {
        for kind in ["errors", "slow", "ratio"] {
            assert!(
                names.contains(&format!("{flow}-{kind}").as_str()),
                "{names:?}"
            );
        }
    }
    let browse = policies
        .iter()
        .find(|p| p["name"].as_str() == Some("browse-ratio"))
        .unwrap();
    let subs = browse["and"]["and_sub_policy"].as_vec().unwrap();
    assert_eq!(
        subs[1]["probabilistic"]["sampling_percentage"].as_i64(),
        Some(10)
    );
    let slow = policies
        .iter()
        .find(|p| p["name"].as_str() == Some("browse-slow"))
        .unwrap();
    assert_eq!(
        slow["and"]["and_sub_policy"][1]["latency"]["threshold_ms"].as_i64(),
        Some(150),
        "browse's own keep_slower_than wins over its SLO threshold"
    );
    let pipeline = &tail["service"]["pipelines"]["traces"];
    assert_eq!(pipeline["processors"][0].as_str(), Some("tail_sampling"));

    let lb = &YamlLoader::load_from_str(&lb).unwrap()[0];
    let exp = &lb["exporters"]["loadbalancing"];
    assert_eq!(exp["routing_key"].as_str(), Some("traceID"));
    assert!(!exp["protocol"]["otlp"].is_badvalue());
    let resolver = exp["resolver"].as_hash().unwrap();
    assert_eq!(resolver.len(), 1);
    let kind = resolver.keys().next().unwrap().as_str().unwrap();
    assert!(["static", "dns", "k8s", "aws_cloud_map"].contains(&kind));
    assert!(exp["resolver"]["dns"]["hostname"].as_str().is_some());
    assert_eq!(
        lb["service"]["pipelines"]["traces"]["exporters"][0].as_str(),
        Some("loadbalancing")
    );
}
