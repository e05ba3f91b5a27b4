//! Alertmanager routing: which receivers an alert's labels reach.
//!
//! [`read_config`] reads the parts of an Alertmanager configuration that decide routing (the
//! `route` tree with `matchers`, `match`, `match_re` and `continue`, and the `receivers` with
//! whether they notify anyone); [`Config::route`] walks the tree as Alertmanager's dispatcher
//! does (first matching child unless `continue`, the node itself when no child matches,
//! receivers inherited from the parent). [`check_alert`] turns the result into `FT0518` and
//! `FT0519` findings. Everything else in the file (templates, inhibit rules) is left to
//! `amtool check-config`.

use flowtel_conventions::rules::alerts as r;
use flowtel_conventions::semconv::yaml;
use flowtel_conventions::{Finding, Location, Registry};
use marked_yaml::Node;
use regex::Regex;

use super::read::{Pos, Rule};

/// Deepest route nesting followed.
const MAX_ROUTE_DEPTH: usize = 64;

/// How a matcher compares.
#[derive(Debug, Clone)]
pub enum MatchOp {
    /// `=`.
    Equal,
    /// `!=`.
    NotEqual,
    /// `=~` (anchored).
    Regex(Regex),
    /// `!~` (anchored).
    NotRegex(Regex),
}

/// One label matcher of a route.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label.
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value or regex as written.
    pub value: String,
}

impl Matcher {
    fn matches(&self, labels: &[(String, String)]) -> bool {
        let v = labels
            .iter()
            .find(|(k, _)| *k == self.name)
            .map_or("", |(_, v)| v.as_str());
        match &self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex(re) => re.is_match(v),
            MatchOp::NotRegex(re) => !re.is_match(v),
        }
    }
}

/// A node of the routing tree.
#[derive(Debug, Clone)]
pub struct Route {
    /// The receiver, inherited from the parent when not set.
    pub receiver: Option<String>,
    /// All must match.
    pub matchers: Vec<Matcher>,
    /// Keep looking at later siblings after this one matched.
    pub continue_matching: bool,
    /// Child routes, in order.
    pub routes: Vec<Route>,
    /// Where the route is written.
    pub pos: Pos,
}

/// A receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Its name.
    pub name: String,
    /// Whether it has any notification configured (`*_configs`).
    pub notifies: bool,
}

/// The routing part of an Alertmanager configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file as shown in findings.
    pub file: String,
    /// The root route.
    pub route: Route,
    /// Receivers, in order.
    pub receivers: Vec<Receiver>,
}

/// Where an alert ends up: the receiver and the route that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The receiver's name.
    pub receiver: String,
    /// Where the deciding route is written.
    pub pos: Pos,
}

impl Config {
    /// The receivers a label set reaches, in order, as Alertmanager routes it.
    pub fn route(&self, labels: &[(String, String)]) -> Vec<Destination> {
        let mut out = Vec::new();
        walk(&self.route, None, labels, 0, &mut out);
        out
    }

    fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }
}

fn walk(
    route: &Route,
    inherited: Option<&str>,
    labels: &[(String, String)],
    depth: usize,
    out: &mut Vec<Destination>,
) -> bool {
    if !route.matchers.iter().all(|m| m.matches(labels)) {
        return false;
    }
    let receiver = route.receiver.as_deref().or(inherited);
    let before = out.len();
    if depth < MAX_ROUTE_DEPTH {
        for child in &route.routes {
            if walk(child, receiver, labels, depth + 1, out) && !child.continue_matching {
                break;
            }
        }
    }
    if out.len() == before {
        out.push(Destination {
            receiver: receiver.unwrap_or_default().to_string(),
            pos: route.pos,
        });
    }
    true
}

/// Reads an Alertmanager configuration's routing; problems are located findings.
pub fn read_config(file: &str, text: &str) -> (Option<Config>, Vec<Finding>) {
    let mut findings = Vec::new();
    let bad = |pos: Pos, msg: String| {
        Finding::new(&r::RULE_FILE_MALFORMED, msg)
            .at(pos.at(file))
            .help("`amtool check-config FILE` explains what Alertmanager expects")
    };
    let root = match yaml::parse(0, text) {
        Ok(n) => n,
        Err(e) => {
            findings.push(
                Finding::new(
                    &r::RULE_FILE_MALFORMED,
                    format!("not valid YAML: {}", e.message),
                )
                .at(Location::new(file, e.line, e.column)),
            );
            return (None, findings);
        }
    };
    let Some(top) = root.as_mapping() else {
        findings.push(bad(
            pos(&root),
            "an Alertmanager configuration must be a mapping".into(),
        ));
        return (None, findings);
    };
    let Some(route_node) = top.get_node("route") else {
        findings.push(bad(pos(&root), "no `route` in the configuration".into()));
        return (None, findings);
    };
    let route = read_route(route_node, 0, &mut |p, m| findings.push(bad(p, m)));
    let mut receivers = Vec::new();
    if let Some(list) = top.get_node("receivers").and_then(Node::as_sequence) {
        for n in list.iter() {
            let Some(m) = n.as_mapping() else { continue };
            let Some(name) = m.get_scalar("name") else {
                findings.push(bad(pos(n), "a receiver without `name`".into()));
                continue;
            };
            let notifies = m.iter().any(|(k, v)| {
                k.as_str().ends_with("_configs") && v.as_sequence().is_some_and(|s| !s.is_empty())
            });
            receivers.push(Receiver {
                name: name.as_str().to_string(),
                notifies,
            });
        }
    }
    (
        Some(Config {
            file: file.to_string(),
            route,
            receivers,
        }),
        findings,
    )
}

fn pos(node: &Node) -> Pos {
    node.span()
        .start()
        .map_or(Pos { line: 1, column: 1 }, |m| Pos {
            line: m.line() as u32,
            column: m.column() as u32,
        })
}

fn read_route(node: &Node, depth: usize, bad: &mut dyn FnMut(Pos, String)) -> Route {
    let mut route = Route {
        receiver: None,
        matchers: Vec::new(),
        continue_matching: false,
        routes: Vec::new(),
        pos: pos(node),
    };
    let Some(m) = node.as_mapping() else {
        bad(route.pos, "a route must be a mapping".into());
        return route;
    };
    route.receiver = m.get_scalar("receiver").map(|s| s.as_str().to_string());
    route.continue_matching = m
        .get_scalar("continue")
        .is_some_and(|s| s.as_str() == "true");
    let regex = |name: &str, value: &str, p: Pos, bad: &mut dyn FnMut(Pos, String)| match Regex::new(
        &format!("^(?:{value})$"),
    ) {
        Ok(re) => Some(re),
        Err(_) => {
            bad(
                p,
                format!("matcher on `{name}` has an invalid regex `{value}`"),
            );
            None
        }
    };
    if let Some(list) = m.get_node("matchers").and_then(Node::as_sequence) {
        for n in list.iter() {
            let Some(s) = n.as_scalar() else { continue };
            let p = pos(n);
            match parse_matcher(s.as_str()) {
                Some((name, op, value)) => {
                    let op = match op {
                        "=" => Some(MatchOp::Equal),
                        "!=" => Some(MatchOp::NotEqual),
                        "=~" => regex(&name, &value, p, bad).map(MatchOp::Regex),
                        _ => regex(&name, &value, p, bad).map(MatchOp::NotRegex),
                    };
                    if let Some(op) = op {
                        route.matchers.push(Matcher { name, op, value });
                    }
                }
                None => bad(
                    p,
                    format!("`{}` is not a matcher (`label=\"value\"`)", s.as_str()),
                ),
            }
        }
    }
    if let Some(mm) = m.get_mapping("match") {
        for (k, v) in mm.iter() {
            if let Some(v) = v.as_scalar() {
                route.matchers.push(Matcher {
                    name: k.as_str().to_string(),
                    op: MatchOp::Equal,
                    value: v.as_str().to_string(),
                });
            }
        }
    }
    if let Some(mm) = m.get_mapping("match_re") {
        for (k, node) in mm.iter() {
            if let Some(v) = node.as_scalar()
                && let Some(re) = regex(k.as_str(), v.as_str(), pos(node), bad)
            {
                route.matchers.push(Matcher {
                    name: k.as_str().to_string(),
                    op: MatchOp::Regex(re),
                    value: v.as_str().to_string(),
                });
            }
        }
    }
    if depth < MAX_ROUTE_DEPTH
        && let Some(list) = m.get_node("routes").and_then(Node::as_sequence)
    {
        for n in list.iter() {
            route.routes.push(read_route(n, depth + 1, bad));
        }
    }
    route
}

/// Splits `name op value` (`severity="page"`, `team=~"a|b"`, `env!=prod`); the value's quotes
/// and escapes are removed.
pub fn parse_matcher(text: &str) -> Option<(String, &'static str, String)> {
    let t = text
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim();
    let idx = t.find(['=', '!'])?;
    let name = t[..idx].trim();
    let rest = &t[idx..];
    let (op, value) = ["=~", "!~", "!=", "="]
        .into_iter()
        .find_map(|op| rest.strip_prefix(op).map(|v| (op, v.trim())))?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let value = if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(o) => out.push(o),
                    None => return None,
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        value.to_string()
    };
    Some((name.to_string(), op, value))
}

/// Routes an alert and reports where it lands wrongly: nowhere that notifies (`FT0518`), at a
/// receiver that is not defined, or not at its flow's `alert_route` (`FT0519`).
pub fn check_alert(
    config: &Config,
    reg: Option<&Registry>,
    flow_label: &str,
    file: &str,
    rule: &Rule,
    out: &mut Vec<Finding>,
) {
    let name = &rule.name.value;
    let mut labels: Vec<(String, String)> = rule
        .labels
        .iter()
        .map(|(k, v)| (k.value.clone(), v.value.clone()))
        .collect();
    labels.push(("alertname".into(), name.clone()));
    let dests = config.route(&labels);
    let at = rule.name.pos.at(file);
    let route_at = |d: &Destination| Some(d.pos.at(&config.file));
    for d in &dests {
        if config.receiver(&d.receiver).is_none() {
            out.push(
                Finding::new(
                    &r::ALERT_WRONG_RECEIVER,
                    format!(
                        "alert `{name}` is routed to receiver `{}`, which the Alertmanager configuration does not define",
                        d.receiver
                    ),
                )
                .subject("alert", name.clone())
                .subject("receiver", d.receiver.clone())
                .at(at.clone())
                .related(route_at(d), "routed here")
                .help("define the receiver under `receivers`, or route to one that exists"),
            );
        }
    }
    let notifying: Vec<&Destination> = dests
        .iter()
        .filter(|d| config.receiver(&d.receiver).is_some_and(|r| r.notifies))
        .collect();
    if notifying.is_empty() && dests.iter().all(|d| config.receiver(&d.receiver).is_some()) {
        let names: Vec<&str> = dests.iter().map(|d| d.receiver.as_str()).collect();
        let mut f = Finding::new(
            &r::ALERT_UNROUTED,
            format!(
                "alert `{name}` reaches only receiver `{}`, which notifies nobody",
                names.join("`, `")
            ),
        )
        .subject("alert", name.clone())
        .at(at.clone())
        .help("route it to a receiver with a notification config (the flow owner's `alert_route`), or delete the alert");
        for d in &dests {
            f = f.related(route_at(d), "routed here");
        }
        out.push(f);
    }
    let Some(reg) = reg else { return };
    let Some(flow) = rule.label(flow_label) else {
        return;
    };
    let Some(route) = reg
        .flows
        .get(flow.value.as_str())
        .and_then(|f| f.alert_route.as_deref())
    else {
        return;
    };
    if !dests.iter().any(|d| d.receiver == route) {
        let names: Vec<&str> = dests.iter().map(|d| d.receiver.as_str()).collect();
        let mut f = Finding::new(
            &r::ALERT_WRONG_RECEIVER,
            format!(
                "alert `{name}` of flow `{}` reaches `{}`, not the flow's `alert_route` `{route}`",
                flow.value,
                names.join("`, `")
            ),
        )
        .subject("alert", name.clone())
        .subject("flow", flow.value.clone())
        .at(flow.pos.at(file))
        .help(format!(
            "add a route `{{matchers: ['{flow_label}=\"{}\"'], receiver: {route}}}` before the catch-all routes",
            flow.value
        ));
        for d in &dests {
            f = f.related(route_at(d), "routed here");
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
route:
  receiver: default
  routes:
    - matchers: ['flow="checkout"']
      receiver: payments-oncall
      continue: true
    - matchers: ['severity=~"page|critical"']
      receiver: platform-oncall
      routes:
        - match: {team: void}
          receiver: blackhole
    - match_re: {flow: "log.*"}
      receiver: identity-oncall
receivers:
  - name: default
    webhook_configs: [{url: "http://127.0.0.1:9/"}]
  - name: payments-oncall
    webhook_configs: [{url: "http://127.0.0.1:9/"}]
  - name: platform-oncall
    webhook_configs: [{url: "http://127.0.0.1:9/"}]
  - name: blackhole
"#;

    fn route(labels: &[(&str, &str)]) -> Vec<String> {
        let (config, findings) = read_config("am.yml", CONFIG);
        assert!(findings.is_empty(), "{findings:?}");
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config
            .unwrap()
            .route(&labels)
            .into_iter()
            .map(|d| d.receiver)
            .collect()
    }

    #[test]
    fn routes_like_alertmanager() {
        assert_eq!(route(&[]), ["default"]);
        assert_eq!(route(&[("flow", "checkout")]), ["payments-oncall"]);
        assert_eq!(
            route(&[("flow", "checkout"), ("severity", "page")]),
            ["payments-oncall", "platform-oncall"]
        );
        assert_eq!(
            route(&[("severity", "critical"), ("team", "void")]),
            ["blackhole"]
        );
        assert_eq!(route(&[("flow", "login")]), ["identity-oncall"]);
    }

    #[test]
    fn parses_matchers() {
        assert_eq!(
            parse_matcher(r#"severity="page""#),
            Some(("severity".into(), "=", "page".into()))
        );
        assert_eq!(
            parse_matcher(r#" team =~ "a|b" "#),
            Some(("team".into(), "=~", "a|b".into()))
        );
        assert_eq!(
            parse_matcher("env!=prod"),
            Some(("env".into(), "!=", "prod".into()))
        );
        assert_eq!(
            parse_matcher(r#"{x!~"q\"r"}"#),
            Some(("x".into(), "!~", "q\"r".into()))
        );
        assert_eq!(parse_matcher("nothing"), None);
    }
}
