//! Decoding one conventions file: YAML with positions (duplicate keys reported), unknown keys
//! checked against the schema, serde into the model, and a located finding when it does not
//! decode.

use marked_yaml::spanned_serde::NodeDeserializer;
use marked_yaml::{LoadError, LoaderOptions};
use serde::Deserialize;

use crate::finding::Finding;
use crate::model::{RegistryFile, SCHEMA_V1};
use crate::rules::registry as rules;
use crate::source::{FileId, Seg, SourceMap};

/// Parses and decodes one file, reporting every problem; `None` when nothing usable remains.
pub(super) fn decode(
    sources: &mut SourceMap,
    findings: &mut Vec<Finding>,
    id: FileId,
) -> Option<RegistryFile> {
    let text = &sources.file(id).text;
    let strict = LoaderOptions::default().error_on_duplicate_keys(true);
    let mut root = match marked_yaml::parse_yaml_with_options(id, text, strict) {
        Ok(node) => node,
        Err(LoadError::DuplicateKey(dup)) => {
            let first = sources.span_location(id, dup.prev_key.span());
            findings.push(
                Finding::new(
                    &rules::DUPLICATE_KEY,
                    format!(
                        "key `{}` appears twice in the same mapping",
                        dup.key.as_str()
                    ),
                )
                .at(sources.span_location(id, dup.key.span()))
                .subject("key", dup.key.as_str())
                .related(first, "first written here")
                .help("keep one of the two; rename the other if both are meant"),
            );
            // Read on with the last value winning, so the rest of the file is still checked.
            match marked_yaml::parse_yaml(id, text) {
                Ok(node) => node,
                Err(e) => return load_error(sources, findings, id, e),
            }
        }
        Err(e) => return load_error(sources, findings, id, e),
    };
    // Every struct of the model denies unknown keys, so a file that decodes has none: the
    // keys are checked against the schema only when decoding fails, to report each unknown key
    // with a suggestion, remove it and decode the rest. Decoding without path tracking is
    // about twice as fast; a file that still fails is decoded again with it, to say where.
    let decoded = match RegistryFile::deserialize(NodeDeserializer::new(&root)) {
        Ok(content) => Ok(content),
        Err(_) => {
            crate::keys::check(
                &mut root,
                crate::keys::registry_shape(),
                id,
                sources,
                findings,
            );
            RegistryFile::deserialize(NodeDeserializer::new(&root))
        }
    };
    sources.file_mut(id).root = Some(root);
    let root = sources.file(id).root.as_ref()?;
    match decoded {
        Ok(content) => {
            if content.schema != SCHEMA_V1 {
                findings.push(
                    Finding::new(
                        &rules::UNSUPPORTED_SCHEMA,
                        format!("schema `{}` is not `{SCHEMA_V1}`", content.schema),
                    )
                    .at(sources.locate(id, &[Seg::Key("schema")]))
                    .help(format!("write `schema: {SCHEMA_V1}`")),
                );
                return None;
            }
            Some(content)
        }
        Err(_) => {
            let finding = decode_error(sources, id, root);
            findings.push(finding);
            None
        }
    }
}

fn load_error(
    sources: &SourceMap,
    findings: &mut Vec<Finding>,
    id: FileId,
    err: LoadError,
) -> Option<RegistryFile> {
    let (marker, message) = match &err {
        LoadError::ScanError(m, e) => (*m, e.info().to_string()),
        LoadError::TopLevelMustBeMapping(m) => (
            *m,
            "the top level must be a mapping (`schema: flowtel/v1`, `name: ...`)".into(),
        ),
        LoadError::TopLevelMustBeSequence(m) => (*m, "unexpected top-level sequence".into()),
        LoadError::UnexpectedAnchor(m) => (
            *m,
            "anchors and aliases (`&x`, `*x`) are not supported in conventions files".into(),
        ),
        LoadError::MappingKeyMustBeScalar(m) => (*m, "mapping keys must be plain scalars".into()),
        LoadError::UnexpectedTag(m) => (*m, "YAML tags (`!x`) are not supported".into()),
        LoadError::DuplicateKey(d) => (
            d.key
                .span()
                .start()
                .copied()
                .unwrap_or_else(|| marked_yaml::Marker::new(id, 0, 1, 1)),
            format!("key `{}` appears twice", d.key.as_str()),
        ),
    };
    let text = &sources.file(id).text;
    let help = if text.trim().is_empty() {
        "the file is empty; a conventions file starts with `schema: flowtel/v1`".to_string()
    } else {
        "fix the YAML syntax at this position".to_string()
    };
    findings.push(
        Finding::new(&rules::MALFORMED_YAML, message)
            .at(sources.marker_location(id, &marker))
            .help(help),
    );
    None
}

/// The finding for a file that does not decode: located at the node serde stopped at.
fn decode_error(sources: &SourceMap, id: FileId, root: &marked_yaml::Node) -> Finding {
    use serde_path_to_error::Segment;
    let err = match serde_path_to_error::deserialize::<_, RegistryFile>(
        marked_yaml::spanned_serde::NodeDeserializer::new(root),
    ) {
        Ok(_) => return Finding::new(&rules::INVALID_VALUE, "the file does not decode"),
        Err(e) => e,
    };
    let keys: Vec<String> = err
        .path()
        .iter()
        .map(|seg| match seg {
            Segment::Map { key } => key.clone(),
            Segment::Seq { index } => index.to_string(),
            _ => String::new(),
        })
        .collect();
    let segs: Vec<Seg<'_>> = err
        .path()
        .iter()
        .zip(&keys)
        .filter_map(|(seg, key)| match seg {
            Segment::Map { .. } => Some(Seg::Key(key)),
            Segment::Seq { index } => Some(Seg::Index(*index)),
            _ => None,
        })
        .collect();
    let loc = err
        .inner()
        .start_mark()
        .map(|m| sources.marker_location(id, &m))
        .or_else(|| sources.locate(id, &segs));
    let path = err.path().to_string();
    let inner = lower_first(&err.inner().to_string());
    let msg = if path == "." {
        inner
    } else {
        format!("invalid value at `{path}`: {inner}")
    };
    Finding::new(&rules::INVALID_VALUE, msg)
        .at(loc)
        .help("see the flowtel/v1 JSON Schema (`flowtel schema`) for the accepted values")
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn open_objects(schema: &Value, at: &str, out: &mut Vec<String>) {
        match schema {
            Value::Object(map) => {
                if map.contains_key("properties")
                    && map.get("additionalProperties") != Some(&Value::Bool(false))
                {
                    out.push(at.to_string());
                }
                for (k, v) in map {
                    open_objects(v, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    open_objects(v, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    /// `decode` checks keys only when decoding fails: that finds every unknown key only if
    /// every struct of the model denies them (`additionalProperties: false` in the schema).
    #[test]
    fn every_struct_of_the_model_denies_unknown_keys() {
        let mut open = Vec::new();
        open_objects(crate::model::registry_schema(), "#", &mut open);
        assert!(open.is_empty(), "structs accepting unknown keys: {open:?}");
    }

    #[test]
    fn unknown_keys_are_still_reported_with_a_suggestion() {
        let text = "schema: flowtel/v1\nname: t\nversion: 1.0.0\nattributes:\n  a.b: {type: string, brif: x}\n";
        let loaded = crate::load::load_str(std::path::Path::new("t.yaml"), text);
        let f = loaded
            .findings
            .iter()
            .find(|f| f.message.contains("unknown key `brif`"))
            .expect("unknown key reported");
        assert_eq!(
            f.location.as_ref().map(|l| (l.line, l.column)),
            Some((5, 23))
        );
        assert!(f.help.as_deref().unwrap_or("").contains("brief"));
        assert!(loaded.registry.unwrap().attributes.contains_key("a.b"));
    }
}
