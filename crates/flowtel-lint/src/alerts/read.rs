//! Reading Prometheus rule files into plain data with positions.
//!
//! A rule file is YAML (`groups:` of `rules:`, each an `alert` or a `record` with an `expr`);
//! this module turns it into [`RuleFile`] and reports, as located [`Finding`]s, whatever
//! Prometheus would refuse to load: YAML syntax errors, a wrong shape, unknown keys, durations
//! that do not parse. PromQL is not parsed here (that is [`super::expr`]); nothing here panics
//! or grows without bound on hostile input (the YAML reader limits nesting and aliases).

use flowtel_conventions::rules::alerts as r;
use flowtel_conventions::semconv::yaml;
use flowtel_conventions::{Finding, Location};
use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};

/// A 1-based line and column in a rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Pos {
    fn of(node: &Node) -> Pos {
        node.span()
            .start()
            .map_or(Pos { line: 1, column: 1 }, |m| Pos {
                line: m.line() as u32,
                column: m.column() as u32,
            })
    }

    fn of_scalar(node: &MarkedScalarNode) -> Pos {
        node.span()
            .start()
            .map_or(Pos { line: 1, column: 1 }, |m| Pos {
                line: m.line() as u32,
                column: m.column() as u32,
            })
    }

    /// The location of this position in `file`.
    pub fn at(self, file: &str) -> Location {
        Location::new(file, self.line, self.column)
    }
}

/// A string value and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    /// The value.
    pub value: String,
    /// Where the value starts.
    pub pos: Pos,
}

/// One rule file.
#[derive(Debug, Clone, Default)]
pub struct RuleFile {
    /// The file as shown in findings.
    pub file: String,
    /// Its groups, in order.
    pub groups: Vec<Group>,
}

/// A rule group.
#[derive(Debug, Clone)]
pub struct Group {
    /// `name`.
    pub name: Spanned,
    /// Every rule of the group, in order.
    pub rules: Vec<Rule>,
}

/// Whether a rule alerts or records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `alert: NAME`.
    Alert,
    /// `record: NAME`.
    Record,
}

/// One alerting or recording rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Alert or record.
    pub kind: RuleKind,
    /// The alert name or the recorded series name.
    pub name: Spanned,
    /// The PromQL expression.
    pub expr: Spanned,
    /// `for`, when written, as seconds.
    pub for_seconds: Option<(f64, Pos)>,
    /// `labels`, in order.
    pub labels: Vec<(Spanned, Spanned)>,
    /// `annotations`, in order.
    pub annotations: Vec<(Spanned, Spanned)>,
}

impl Rule {
    /// The value of a label of the rule.
    pub fn label(&self, name: &str) -> Option<&Spanned> {
        self.labels
            .iter()
            .find(|(k, _)| k.value == name)
            .map(|(_, v)| v)
    }

    /// Whether the rule has a non-empty annotation.
    pub fn has_annotation(&self, name: &str) -> bool {
        self.annotations
            .iter()
            .any(|(k, v)| k.value == name && !v.value.trim().is_empty())
    }
}

const FILE_KEYS: &[&str] = &["groups"];
const GROUP_KEYS: &[&str] = &[
    "name",
    "interval",
    "query_offset",
    "limit",
    "rules",
    "labels",
];
const RULE_KEYS: &[&str] = &[
    "alert",
    "record",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

/// Reads one rule file's text. Problems are returned as findings located in `file`; what could
/// be read is returned even when there are problems.
pub fn read_rule_file(file: &str, text: &str) -> (RuleFile, Vec<Finding>) {
    let mut out = RuleFile {
        file: file.to_string(),
        groups: Vec::new(),
    };
    let mut reader = Reader {
        file,
        findings: Vec::new(),
    };
    let root = match yaml::parse(0, text) {
        Ok(root) => root,
        Err(e) => {
            reader.findings.push(
                Finding::new(
                    &r::RULE_FILE_MALFORMED,
                    format!("not valid YAML: {}", e.message),
                )
                .at(Location::new(file, e.line, e.column))
                .help("fix the YAML syntax; Prometheus refuses to load the whole file"),
            );
            return (out, reader.findings);
        }
    };
    let Some(top) = reader.mapping(&root, "the file") else {
        return (out, reader.findings);
    };
    reader.unknown_keys(top, FILE_KEYS, "a rule file");
    let Some(groups) = top.get_node("groups") else {
        return (out, reader.findings);
    };
    let Some(groups) = reader.sequence(groups, "`groups`") else {
        return (out, reader.findings);
    };
    for g in groups.iter() {
        if let Some(group) = reader.group(g) {
            out.groups.push(group);
        }
    }
    (out, reader.findings)
}

struct Reader<'a> {
    file: &'a str,
    findings: Vec<Finding>,
}

impl Reader<'_> {
    fn malformed(&mut self, pos: Pos, message: String, help: &str) {
        self.findings.push(
            Finding::new(&r::RULE_FILE_MALFORMED, message)
                .at(pos.at(self.file))
                .help(help),
        );
    }

    fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n MarkedMappingNode> {
        match node {
            Node::Mapping(m) => Some(m),
            Node::Scalar(s) if is_null(s) => None,
            _ => {
                self.malformed(
                    Pos::of(node),
                    format!("{what} must be a mapping"),
                    "see the Prometheus rule file format: `groups: [{name: ..., rules: [...]}]`",
                );
                None
            }
        }
    }

    fn sequence<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Option<&'n marked_yaml::types::MarkedSequenceNode> {
        match node {
            Node::Sequence(s) => Some(s),
            Node::Scalar(s) if is_null(s) => None,
            _ => {
                self.malformed(
                    Pos::of(node),
                    format!("{what} must be a list"),
                    "write a YAML list: one `- ` entry per item",
                );
                None
            }
        }
    }

    fn scalar(&mut self, node: &Node, what: &str) -> Option<Spanned> {
        match node {
            Node::Scalar(s) => Some(Spanned {
                value: s.as_str().to_string(),
                pos: Pos::of_scalar(s),
            }),
            _ => {
                self.malformed(
                    Pos::of(node),
                    format!("{what} must be a string"),
                    "write a single value, quoted if it contains `:` or `#`",
                );
                None
            }
        }
    }

    fn unknown_keys(&mut self, m: &MarkedMappingNode, known: &[&str], what: &str) {
        for (k, _) in m.iter() {
            if !known.contains(&k.as_str()) {
                let suggestion =
                    flowtel_conventions::finding::did_you_mean(k.as_str(), known.iter().copied());
                let help = match suggestion {
                    Some(s) => format!("did you mean `{s}`? Prometheus refuses unknown keys"),
                    None => format!("{what} has the keys {}", known.join(", ")),
                };
                self.malformed(
                    Pos::of_scalar(k),
                    format!("unknown key `{}` in {what}", k.as_str()),
                    &help,
                );
            }
        }
    }

    fn group(&mut self, node: &Node) -> Option<Group> {
        let m = self.mapping(node, "a group")?;
        self.unknown_keys(m, GROUP_KEYS, "a group");
        let name = match m.get_node("name") {
            Some(n) => self.scalar(n, "a group's `name`")?,
            None => {
                self.malformed(
                    Pos::of(node),
                    "a group without `name`".into(),
                    "give every group a unique `name`",
                );
                return None;
            }
        };
        if let Some(i) = m.get_node("interval") {
            self.duration(i, "`interval`");
        }
        let mut rules = Vec::new();
        if let Some(list) = m.get_node("rules")
            && let Some(list) = self.sequence(list, "`rules`")
        {
            for rn in list.iter() {
                if let Some(rule) = self.rule(rn) {
                    rules.push(rule);
                }
            }
        }
        Some(Group { name, rules })
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<(f64, Pos)> {
        let s = self.scalar(node, what)?;
        match parse_duration(&s.value) {
            Some(secs) => Some((secs, s.pos)),
            None => {
                self.malformed(
                    s.pos,
                    format!("{what} `{}` is not a duration", s.value),
                    "write a Prometheus duration: `30s`, `5m`, `1h30m`",
                );
                None
            }
        }
    }

    fn pairs(&mut self, node: &Node, what: &str) -> Vec<(Spanned, Spanned)> {
        let Some(m) = self.mapping(node, what) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in m.iter() {
            let key = Spanned {
                value: k.as_str().to_string(),
                pos: Pos::of_scalar(k),
            };
            if let Some(v) = self.scalar(v, &format!("the value of `{}`", key.value)) {
                out.push((key, v));
            }
        }
        out
    }

    fn rule(&mut self, node: &Node) -> Option<Rule> {
        let m = self.mapping(node, "a rule")?;
        self.unknown_keys(m, RULE_KEYS, "a rule");
        let (kind, name) = match (m.get_node("alert"), m.get_node("record")) {
            (Some(a), None) => (RuleKind::Alert, self.scalar(a, "`alert`")?),
            (None, Some(rec)) => (RuleKind::Record, self.scalar(rec, "`record`")?),
            (Some(_), Some(_)) => {
                self.malformed(
                    Pos::of(node),
                    "a rule with both `alert` and `record`".into(),
                    "split it into an alerting rule and a recording rule",
                );
                return None;
            }
            (None, None) => {
                self.malformed(
                    Pos::of(node),
                    "a rule with neither `alert` nor `record`".into(),
                    "name the rule with `alert: Name` or `record: level:metric:operation`",
                );
                return None;
            }
        };
        let expr = match m.get_node("expr") {
            Some(e) => self.scalar(e, "`expr`")?,
            None => {
                self.malformed(
                    name.pos,
                    format!("rule `{}` has no `expr`", name.value),
                    "add the PromQL expression the rule evaluates",
                );
                return None;
            }
        };
        let for_seconds = m.get_node("for").and_then(|f| self.duration(f, "`for`"));
        if let Some(k) = m.get_node("keep_firing_for") {
            self.duration(k, "`keep_firing_for`");
        }
        if kind == RuleKind::Record {
            for key in ["for", "keep_firing_for", "annotations"] {
                if let Some((k, _)) = m.get_key_value(key) {
                    self.malformed(
                        Pos::of_scalar(k),
                        format!("recording rule `{}` has `{key}`", name.value),
                        "only alerting rules take `for`, `keep_firing_for` and `annotations`",
                    );
                }
            }
        }
        let labels = m
            .get_node("labels")
            .map(|l| self.pairs(l, "`labels`"))
            .unwrap_or_default();
        let annotations = m
            .get_node("annotations")
            .map(|a| self.pairs(a, "`annotations`"))
            .unwrap_or_default();
        Some(Rule {
            kind,
            name,
            expr,
            for_seconds,
            labels,
            annotations,
        })
    }
}

fn is_null(s: &MarkedScalarNode) -> bool {
    matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL")
}

/// Parses a Prometheus duration (`1h30m`, `90s`, `0`) into seconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let t = text.trim();
    // `0`, `0s`, `0m`: Prometheus reads them as zero; the parser refuses a zero duration.
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if !digits.is_empty()
        && digits.bytes().all(|b| b == b'0')
        && matches!(
            &t[digits.len()..],
            "" | "ms" | "s" | "m" | "h" | "d" | "w" | "y"
        )
    {
        return Some(0.0);
    }
    promql_parser::util::parse_duration(t)
        .ok()
        .map(|d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_groups_and_rules_with_positions() {
        let text = "groups:\n- name: api\n  rules:\n  - alert: ApiDown\n    expr: up == 0\n    for: 5m\n    labels: {severity: page}\n    annotations:\n      summary: down\n  - record: job:up:sum\n    expr: sum by (job) (up)\n";
        let (f, findings) = read_rule_file("r.yml", text);
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(f.groups.len(), 1);
        let rules = &f.groups[0].rules;
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].kind, RuleKind::Alert);
        assert_eq!(rules[0].name.value, "ApiDown");
        assert_eq!(rules[0].expr.value, "up == 0");
        assert_eq!(
            rules[0].expr.pos,
            Pos {
                line: 5,
                column: 11
            }
        );
        assert_eq!(rules[0].for_seconds.map(|f| f.0), Some(300.0));
        assert_eq!(rules[0].label("severity").unwrap().value, "page");
        assert!(rules[0].has_annotation("summary"));
        assert_eq!(rules[1].kind, RuleKind::Record);
    }

    #[test]
    fn reports_yaml_errors_with_positions() {
        let (_, findings) = read_rule_file("r.yml", "groups:\n- name: [unclosed\n");
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule.id, "FT0501");
        assert!(findings[0].location.as_ref().unwrap().line >= 2);
    }

    #[test]
    fn reports_what_prometheus_refuses() {
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: soon\n    lables: {}\n  - expr: up\n";
        let (f, findings) = read_rule_file("r.yml", text);
        let msgs: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "unknown key `lables` in a rule",
                "`for` `soon` is not a duration",
                "a rule with neither `alert` nor `record`",
            ]
        );
        assert_eq!(f.groups[0].rules.len(), 1);
        assert!(findings[0].help.as_deref().unwrap().contains("`labels`"));
    }

    #[test]
    fn empty_files_are_fine() {
        for text in ["", "groups:\n", "groups: []\n"] {
            let (f, findings) = read_rule_file("r.yml", text);
            assert!(findings.is_empty() && f.groups.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Some(0.0));
        assert_eq!(parse_duration("0s"), Some(0.0));
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("soon"), None);
    }
}
