//! `cargo xtask structure`: file-level import circles in a crate's sources.
//!
//! A file *uses* another when it names a path into the other's module (`use crate::load::X`,
//! `super::Rule`, `crate::semconv::read_model(..)`, or a child module's `child::item` in the
//! file that declares it). Two files that use each other form a circle: neither can be read,
//! moved or tested without the other. Comments and the `#[cfg(test)] mod tests` block at the
//! end of a file are not counted. The check is textual (no macro expansion), which is enough
//! for flowtel's code: it names modules by path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose sources must stay free of file import circles. flowtel, flowtel-tower,
/// flowtel-lint, flowtel-analyze and flowtel-govern still have some (mostly `lib.rs` and a
/// module naming each other); add each here once its circles are gone.
pub const CHECKED: &[&str] = &[
    "flowtel-conventions",
    "flowtel-otlp",
    "flowtel-live",
    "flowtel-cli",
    "flowtel-macros",
];

/// One source file: its module path (`["semconv", "read"]`) and the modules it declares.
struct File {
    path: PathBuf,
    module: Vec<String>,
    text: String,
    children: BTreeSet<String>,
}

/// Every pair of files of the crate at `dir` that use each other, as paths relative to it.
pub fn circles(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let src = dir.join("src");
    let mut files = Vec::new();
    collect(&src, &src, &mut files)?;
    let modules: BTreeMap<Vec<String>, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.clone(), i))
        .collect();
    let mut uses: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (i, f) in files.iter().enumerate() {
        for path in references(f) {
            // The longest module prefix of the path is the file it names.
            let target = (1..=path.len())
                .rev()
                .find_map(|n| modules.get(&path[..n]))
                .or_else(|| modules.get(&Vec::new()));
            if let Some(&j) = target
                && j != i
            {
                uses.insert((i, j));
            }
        }
    }
    let rel = |i: usize| {
        files[i]
            .path
            .strip_prefix(dir)
            .unwrap_or(&files[i].path)
            .display()
            .to_string()
    };
    Ok(uses
        .iter()
        .filter(|&&(a, b)| a < b && uses.contains(&(b, a)))
        .map(|&(a, b)| (rel(a), rel(b)))
        .collect())
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<File>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(root, &p, out)?;
            continue;
        }
        if p.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let rel = p.strip_prefix(root).unwrap_or(&p);
        let mut module: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            module.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            module.pop();
        }
        let raw = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let text = code_of(&raw);
        let children = text
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let l = l.strip_prefix("pub ").unwrap_or(l);
                let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
                l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
            })
            .collect();
        out.push(File {
            path: p.clone(),
            module,
            text,
            children,
        });
    }
    Ok(())
}

/// The code of a file without comments and without its trailing test module.
fn code_of(raw: &str) -> String {
    let mut out = String::new();
    let mut lines = raw.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|n| n.trim_start().starts_with("mod tests"))
        {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push_str(line.split(" // ").next().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Absolute module paths a file names (`crate::a::b`, `super::x`, `self::y`, `child::z`).
fn references(f: &File) -> Vec<Vec<String>> {
    let parent: Vec<String> = f.module[..f.module.len().saturating_sub(1)].to_vec();
    let bytes = f.text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':');
        if !starts_word || !(bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
            i += 1;
            continue;
        }
        let (path, end) = path_at(&f.text, i);
        i = end.max(i + 1);
        if path.len() < 2 {
            continue;
        }
        let base: Vec<String> = match path[0].as_str() {
            "crate" => Vec::new(),
            "super" => parent.clone(),
            "self" => f.module.clone(),
            child if f.children.contains(child) => {
                let mut m = f.module.clone();
                m.push(child.to_owned());
                out.push(m);
                continue;
            }
            _ => continue,
        };
        // `use crate::{a::X, b::Y}` names every item of the group.
        let rest = &path[1..];
        if rest.first().map(String::as_str) == Some("{") {
            for item in group_items(&f.text, end) {
                let mut m = base.clone();
                m.extend(item);
                out.push(m);
            }
            continue;
        }
        let mut m = base;
        m.extend(rest.iter().cloned());
        out.push(m);
    }
    out
}

/// The `::`-separated path starting at byte `i`, and where it ends. A path ending in `::{`
/// gets `{` as its last segment.
fn path_at(text: &str, i: usize) -> (Vec<String>, usize) {
    let bytes = text.as_bytes();
    let mut segs = Vec::new();
    let mut j = i;
    loop {
        let start = j;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        if start == j {
            if j < bytes.len() && bytes[j] == b'{' && !segs.is_empty() {
                segs.push("{".to_owned());
                j += 1;
            }
            break;
        }
        segs.push(text[start..j].to_owned());
        if text[j..].starts_with("::") {
            j += 2;
        } else {
            break;
        }
    }
    (segs, j)
}

/// The paths of a `{ ... }` use group starting after its `{` (one level; nested groups name
/// their first module).
fn group_items(text: &str, from: usize) -> Vec<Vec<String>> {
    let mut depth = 1;
    let mut end = from;
    for (k, c) in text[from..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = from + k;
                    break;
                }
            }
            _ => {}
        }
    }
    let inner = &text[from..end];
    let mut items = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    items.push(cur);
    items
        .iter()
        .map(|s| {
            let s = s.trim();
            let s = s.split(" as ").next().unwrap_or(s);
            s.split("::")
                .map(str::trim)
                .take_while(|seg| !seg.is_empty() && !seg.starts_with('{'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty() && p[0] != "self")
        .collect()
}

/// Runs the check over [`CHECKED`] from the workspace root; an error lists every circle.
pub fn run(workspace: &Path) -> Result<(), String> {
    let mut report = Vec::new();
    for krate in CHECKED {
        for (a, b) in circles(&workspace.join("crates").join(krate))? {
            report.push(format!("{krate}: {a} <-> {b}"));
        }
    }
    if report.is_empty() {
        println!("no file import circles in {}", CHECKED.join(", "));
        Ok(())
    } else {
        Err(format!(
            "file import circles (each file uses names from the other):\n  {}",
            report.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_checked_crates_have_no_file_import_circles() {
        if let Err(e) = run(&workspace()) {
            panic!("{e}");
        }
    }

    #[test]
    fn a_circle_is_found() {
        let dir = tempfile_dir();
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("a")).unwrap();
        std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
        std::fs::write(
            src.join("a/mod.rs"),
            "pub mod c;\nuse crate::{b::B, a::c::C};\npub struct A;\n",
        )
        .unwrap();
        std::fs::write(src.join("a/c.rs"), "use super::A;\npub struct C;\n").unwrap();
        std::fs::write(
            src.join("b.rs"),
            "// use crate::a::A; (a comment)\npub struct B;\n#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n",
        )
        .unwrap();
        let found = circles(&dir).unwrap();
        assert_eq!(
            found,
            [("src/a/c.rs".to_owned(), "src/a/mod.rs".to_owned())]
        );
        std::fs::write(src.join("b.rs"), "pub fn f() { crate::a::A; }\n").unwrap();
        let found = circles(&dir).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("flowtel-structure-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }
}
