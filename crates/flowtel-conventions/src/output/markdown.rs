//! Markdown building blocks (GitHub-flavoured): tables whose cells are escaped so a `|` or a
//! line break in a message never breaks the table, and inline code that survives backticks.

use std::fmt;

/// A Markdown table: a header row, then rows of cells. `Display` writes it with a final
/// newline.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are escaped ([`cell`]); missing cells are left empty.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Number of rows (the header not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.header.len();
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            f.write_str("|")?;
            for i in 0..n {
                write!(f, " {} |", cell(cells.get(i).map_or("", String::as_str)))?;
            }
            f.write_str("\n")
        };
        line(f, &self.header)?;
        f.write_str("|")?;
        for _ in 0..n {
            f.write_str("---|")?;
        }
        f.write_str("\n")?;
        for r in &self.rows {
            line(f, r)?;
        }
        Ok(())
    }
}

/// A table cell's text: `|` escaped, line breaks as `<br>`.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

/// Inline code: `` `text` ``, with a longer fence when the text holds backticks.
pub fn code(text: &str) -> String {
    if !text.contains('`') {
        return format!("`{text}`");
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    format!("{fence} {text} {fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_pipes_and_line_breaks() {
        let mut t = Table::new(["kind", "change"]);
        t.row(["metric", "a | b\nc"]);
        t.row(["flow"]);
        assert_eq!(
            t.to_string(),
            "| kind | change |\n|---|---|\n| metric | a \\| b<br>c |\n| flow |  |\n"
        );
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn inline_code_survives_backticks() {
        assert_eq!(code("flow.name"), "`flow.name`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
