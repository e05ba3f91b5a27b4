//! The JSON envelope every `--format json` document shares, so scripts find the same top-level
//! keys whatever the command: `{"tool": "flowtel", "version": "0.1.0", "summary": {...}, ...}`,
//! then the command's own keys (`findings`, `diff`, `map`, ...). DESIGN.md's contract: keys may
//! be added, never removed or renamed.

use serde_json::{Map, Value, json};

use super::TOOL_VERSION;

/// The document `{tool, version, summary, <body keys in order>}`.
pub fn envelope<'k>(summary: Value, body: impl IntoIterator<Item = (&'k str, Value)>) -> Value {
    let mut doc = Map::new();
    doc.insert("tool".into(), json!("flowtel"));
    doc.insert("version".into(), json!(TOOL_VERSION));
    doc.insert("summary".into(), summary);
    for (k, v) in body {
        doc.insert(k.to_string(), v);
    }
    Value::Object(doc)
}

/// [`envelope`], pretty-printed with a final newline: what `--format json` prints.
pub fn document<'k>(summary: Value, body: impl IntoIterator<Item = (&'k str, Value)>) -> String {
    pretty(&envelope(summary, body))
}

/// Any JSON value pretty-printed with a final newline.
pub fn pretty(value: &Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_keys_come_first_in_order() {
        let doc = envelope(json!({"flows": 2}), [("map", json!({"edges": []}))]);
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["tool", "version", "summary", "map"]);
        assert_eq!(doc["tool"], "flowtel");
        assert!(document(json!({}), []).ends_with("}\n"));
    }
}
