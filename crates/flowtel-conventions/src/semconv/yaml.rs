//! YAML text to [`marked_yaml::Node`] trees, as the semantic-conventions files are written.
//!
//! The flowtel loader refuses anchors, but OpenTelemetry's registry uses them (`&name` / `*name`
//! to share a brief), so this reader builds the same node type from the parser's events and
//! expands aliases. It is also lenient where OpenTelemetry's own tooling (libyaml) is: a flow
//! collection's closing bracket on a line indented like its parent is accepted.

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{Marker, Node, Span};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::Marker as YamlMarker;

/// Deepest nesting accepted; deeper documents are refused instead of exhausting the stack.
const MAX_DEPTH: usize = 256;
/// Alias expansions accepted per document, so a "billion laughs" file stays cheap.
const MAX_ALIAS_NODES: usize = 100_000;
/// Lines re-indented to tolerate closing brackets, per file.
const MAX_REINDENTS: usize = 32;

/// A syntax error: 1-based line and column, and the parser's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// Parses one document into a node tree (an empty document is an empty mapping).
pub fn parse(source: usize, text: &str) -> Result<Node, SyntaxError> {
    let mut owned: Option<String> = None;
    for _ in 0..=MAX_REINDENTS {
        let current = owned.as_deref().unwrap_or(text);
        match parse_once(source, current) {
            Ok(node) => return Ok(node),
            Err(e) => {
                // libyaml accepts `]` or `}` closing a flow collection at its parent's
                // indentation; yaml-rust2 does not. Indent that line by one and try again.
                if e.message == "invalid indentation"
                    && let Some(fixed) = reindent_closing(current, e.line)
                {
                    owned = Some(fixed);
                    continue;
                }
                return Err(e);
            }
        }
    }
    Err(SyntaxError {
        line: 1,
        column: 1,
        message: "too many badly indented lines".into(),
    })
}

/// `text` with one space added before line `line` (1-based) when that line holds only
/// closing flow indicators.
fn reindent_closing(text: &str, line: u32) -> Option<String> {
    let idx = (line as usize).checked_sub(1)?;
    let content = text.split('\n').nth(idx)?;
    let trimmed = content.trim();
    let closing = !trimmed.is_empty()
        && trimmed
            .trim_end_matches([',', '\'', '"'])
            .chars()
            .all(|c| matches!(c, ']' | '}' | ' ' | ','));
    if !closing {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 1);
    for (i, l) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i == idx {
            out.push(' ');
        }
        out.push_str(l);
    }
    Some(out)
}

enum Frame {
    Map(MarkedMappingNode, Option<MarkedScalarNode>, usize),
    Seq(MarkedSequenceNode, usize),
}

fn parse_once(source: usize, text: &str) -> Result<Node, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Node)> = Vec::new();
    let mut alias_nodes = 0usize;
    let mut root: Option<Node> = None;
    let marker = |m: &YamlMarker| Marker::new(source, m.index(), m.line(), m.col() + 1);
    let err = |m: &YamlMarker, msg: &str| SyntaxError {
        line: m.line().max(1) as u32,
        column: (m.col() + 1) as u32,
        message: msg.to_string(),
    };
    loop {
        let (event, mark) = parser.next_token().map_err(|e| SyntaxError {
            line: e.marker().line().max(1) as u32,
            column: (e.marker().col() + 1) as u32,
            message: e.info().to_string(),
        })?;
        let node = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart => continue,
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                continue;
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(&mark, "nesting too deep"));
                }
                let m = MarkedMappingNode::new_empty(Span::new_start(marker(&mark)));
                stack.push(Frame::Map(m, None, anchor));
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(&mark, "nesting too deep"));
                }
                let s = MarkedSequenceNode::new_empty(Span::new_start(marker(&mark)));
                stack.push(Frame::Seq(s, anchor));
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (node, anchor) = match stack.pop() {
                    Some(Frame::Map(mut m, _, a)) => {
                        m.span_mut().set_end(Some(marker(&mark)));
                        (Node::from(m), a)
                    }
                    Some(Frame::Seq(mut s, a)) => {
                        s.span_mut().set_end(Some(marker(&mark)));
                        (Node::from(s), a)
                    }
                    None => return Err(err(&mark, "unbalanced collection")),
                };
                if anchor != 0 {
                    anchors.push((anchor, node.clone()));
                }
                node
            }
            Event::Scalar(value, _, anchor, _) => {
                let node = Node::from(MarkedScalarNode::new(Span::new_start(marker(&mark)), value));
                if anchor != 0 {
                    anchors.push((anchor, node.clone()));
                }
                node
            }
            Event::Alias(id) => {
                let Some((_, node)) = anchors.iter().rev().find(|(a, _)| *a == id) else {
                    return Err(err(&mark, "alias to an unknown anchor"));
                };
                alias_nodes += count(node);
                if alias_nodes > MAX_ALIAS_NODES {
                    return Err(err(&mark, "aliases expand to too many nodes"));
                }
                node.clone()
            }
        };
        match stack.last_mut() {
            None => {
                root = Some(node);
            }
            Some(Frame::Seq(s, _)) => s.push(node),
            Some(Frame::Map(m, key, _)) => match key.take() {
                None => match node {
                    Node::Scalar(k) => *key = Some(k),
                    _ => return Err(err(&mark, "mapping keys must be plain scalars")),
                },
                Some(k) => {
                    m.insert(k, node);
                }
            },
        }
    }
    Ok(root.unwrap_or_else(|| {
        Node::from(MarkedMappingNode::new_empty(Span::new_start(Marker::new(
            source, 0, 1, 1,
        ))))
    }))
}

fn count(node: &Node) -> usize {
    match node {
        Node::Scalar(_) => 1,
        Node::Sequence(s) => 1 + s.iter().map(count).sum::<usize>(),
        Node::Mapping(m) => 1 + m.values().map(count).sum::<usize>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_aliases() {
        let n = parse(0, "a: &x {b: 1}\nc: *x\n").unwrap();
        let m = n.as_mapping().unwrap();
        assert_eq!(
            m.get_mapping("c")
                .unwrap()
                .get_scalar("b")
                .unwrap()
                .as_str(),
            "1"
        );
    }

    #[test]
    fn tolerates_a_closing_bracket_at_the_parent_indentation() {
        let text = "x:\n  - [\n    'a',\n    'b'\n  ]\ny: 1\n";
        let n = parse(0, text).unwrap();
        let m = n.as_mapping().unwrap();
        assert_eq!(m.get_scalar("y").unwrap().as_str(), "1");
        let y = m.get_node("y").unwrap().span().start().unwrap();
        assert_eq!((y.line(), y.column()), (6, 4));
    }

    #[test]
    fn reports_errors_with_positions() {
        let e = parse(0, "a: [1, 2\n").unwrap_err();
        assert!(e.line >= 1 && !e.message.is_empty());
        assert!(parse(0, "a: *nope\n").is_err());
    }
}
