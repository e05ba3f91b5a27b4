//! Writing YAML by hand, for files people read: comments where they help, keys in a fixed
//! order, strings quoted only when YAML would misread them. (A serializer cannot write the
//! comments that explain a generated rule.)

/// A scalar as YAML reads it back as the same string.
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '@'))
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        );
    if plain { s.to_string() } else { quoted(s) }
}

/// A single-quoted YAML string.
pub fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A literal block (`|-`) with its lines indented by `indent` spaces.
pub fn block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::from("|-\n");
    for line in text.lines() {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_yaml_would_misread() {
        assert_eq!(scalar("checkout"), "checkout");
        assert_eq!(scalar("payments-oncall"), "payments-oncall");
        assert_eq!(scalar("yes"), "'yes'");
        assert_eq!(scalar("99.9"), "'99.9'");
        assert_eq!(scalar("it's: {x}"), "'it''s: {x}'");
        assert_eq!(scalar(""), "''");
    }
}
