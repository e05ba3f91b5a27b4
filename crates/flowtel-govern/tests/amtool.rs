//! The generated Alertmanager configuration as Alertmanager reads it: `amtool check-config`
//! accepts it, and `amtool config routes test` sends each flow's pages to its `alert_route`,
//! its tickets on their own route to the same receiver, and every owner's flowless alerts to the owner's route.
//! Skips with a message when `amtool` is not installed (`.ci/run` installs it).

use std::path::Path;
use std::process::Command;

use flowtel_govern::{Generator, Options};

fn amtool(args: &[&str]) -> Option<(bool, String)> {
    let out = Command::new("amtool").args(args).output().ok()?;
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[test]
fn amtool_accepts_the_config_and_routes_each_flow_to_its_owner() {
    if amtool(&["--version"]).is_none() {
        eprintln!("skipped: `amtool` is not installed (Debian package `prometheus-alertmanager`)");
        return;
    }
    let conventions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    let reg = flowtel_conventions::check(&conventions).registry.unwrap();
    let out = Generator::Alerts
        .generate(&reg, &Options::default())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alertmanager.yml");
    std::fs::write(&file, &out.files[0].contents).unwrap();
    let file = file.to_str().unwrap();

    let (ok, text) = amtool(&["check-config", file]).unwrap();
    assert!(ok && text.contains("SUCCESS"), "{text}");

    let route = |labels: &[&str]| {
        let cfg = format!("--config.file={file}");
        let mut args = vec!["config", "routes", "test", cfg.as_str()];
        args.extend_from_slice(labels);
        let (ok, text) = amtool(&args).unwrap();
        assert!(ok, "{text}");
        text.lines()
            .filter(|l| !l.starts_with("Warning"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        route(&["flow=checkout", "severity=page"]),
        "payments-oncall"
    );
    assert_eq!(
        route(&["flow=checkout", "severity=ticket"]),
        "payments-oncall"
    );
    assert_eq!(route(&["flow=login", "severity=page"]), "identity-oncall");
    assert_eq!(route(&["flow=browse", "severity=page"]), "catalog-oncall");
    // Every flow's owner has a route of its own.
    for (name, flow) in &reg.flows {
        let owner = flow.owner.as_deref().unwrap();
        let expected = flow.alert_route.as_deref().unwrap();
        let label = format!("owner={owner}");
        assert_eq!(
            route(&[&label, "severity=page"]),
            expected,
            "owner of {name}"
        );
    }
    assert_eq!(route(&["alertname=Unrelated"]), "flowtel-unrouted");
}
