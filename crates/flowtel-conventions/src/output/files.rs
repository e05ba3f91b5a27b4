//! Generated files: a [`FileSet`] (relative path -> bytes) that a generator returns, and the three
//! things a command does with it: write it to `-o DIR` atomically, compare it with `DIR` for
//! `--check`, or print it to stdout.
//!
//! Writing never leaves a mix of old and new files: the new content is built in a sibling
//! staging folder (with any files in `DIR` that flowtel did not generate carried over), then
//! swapped in with two renames; a failure before the swap removes the staging folder and leaves
//! `DIR` as it was. `DIR/.flowtel-generated` lists what flowtel wrote, so a file a generator no
//! longer produces is removed on the next write (and reported as stale by `--check`), while a
//! file someone else put there is kept. A set made with [`FileSet::owned_by`] keeps its own
//! manifest (`.flowtel-<owner>.generated`), so several generators can share one folder, each
//! replacing and reporting only what it wrote. [`write_file`] does the same for one file (`-o
//! report.html`): a temporary file beside it, then a rename.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

/// The manifest of generated files inside an output folder, one relative path per line.
pub const MANIFEST: &str = ".flowtel-generated";

/// A set of generated files, by path relative to the output folder (`/`-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSet {
    files: BTreeMap<String, Vec<u8>>,
    manifest: Option<String>,
}

/// How a folder differs from a [`FileSet`] (`--check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The set has the file; the folder does not.
    Missing(String),
    /// Both have it, with other content.
    Changed(String),
    /// flowtel generated it before, but the set no longer has it.
    Stale(String),
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing(p) => write!(f, "`{p}` is missing"),
            Difference::Changed(p) => write!(f, "`{p}` is out of date"),
            Difference::Stale(p) => write!(f, "`{p}` is no longer generated"),
        }
    }
}

impl FileSet {
    /// An empty set.
    pub fn new() -> Self {
        FileSet::default()
    }

    /// An empty set of one generator (`slo`, `dashboards`) that shares its output folder with
    /// others: its manifest is `.flowtel-<owner>.generated`, and writing it replaces, removes and
    /// reports as stale only files listed there.
    pub fn owned_by(owner: &str) -> Self {
        FileSet {
            files: BTreeMap::new(),
            manifest: Some(format!(".flowtel-{owner}.generated")),
        }
    }

    /// The manifest's file name in the output folder.
    pub fn manifest(&self) -> &str {
        self.manifest.as_deref().unwrap_or(MANIFEST)
    }

    /// Adds (or replaces) a file. `path` is relative, `/`-separated, without `..`; anything else
    /// is a programming error of the generator and is reported as an `InvalidInput` error when
    /// the set is written.
    pub fn add(&mut self, path: impl Into<String>, content: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(path.into(), content.into());
        self
    }

    /// The files, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, c)| (p.as_str(), c.as_slice()))
    }

    /// The content of one file.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// What a generator prints without `-o`: a single file as it is; several files each after a
    /// `# ==> path <==` line (the header `tail` and `head` use).
    pub fn to_stdout(&self) -> Vec<u8> {
        if self.files.len() == 1 {
            return self.files.values().next().cloned().unwrap_or_default();
        }
        let mut out = Vec::new();
        for (i, (p, c)) in self.files.iter().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(format!("# ==> {p} <==\n").as_bytes());
            out.extend_from_slice(c);
            if !c.ends_with(b"\n") {
                out.push(b'\n');
            }
        }
        out
    }

    /// `--check`: how `dir` differs from the set (empty when it is up to date).
    pub fn check(&self, dir: &Path) -> std::io::Result<Vec<Difference>> {
        let mut out = Vec::new();
        for (p, c) in &self.files {
            match std::fs::read(dir.join(p)) {
                Ok(old) if old == *c => {}
                Ok(_) => out.push(Difference::Changed(p.clone())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    out.push(Difference::Missing(p.clone()))
                }
                Err(e) => return Err(e),
            }
        }
        for p in read_manifest(dir, self.manifest())? {
            if !self.files.contains_key(&p) && dir.join(&p).exists() {
                out.push(Difference::Stale(p));
            }
        }
        Ok(out)
    }

    /// `-o DIR`: replaces the generated files in `dir` (created if absent) with the set, as one
    /// step: readers see the old files or the new ones. Files in `dir` that flowtel did not
    /// generate are kept.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        for p in self.files.keys() {
            check_relative(p)?;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("`{}` does not name a folder", dir.display()),
                )
            })?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)?;
        let pid = std::process::id();
        let stage = parent.join(format!(".{name}.flowtel-new-{pid}"));
        let old = parent.join(format!(".{name}.flowtel-old-{pid}"));
        let _ = std::fs::remove_dir_all(&stage);
        let result = self.stage(dir, &stage).and_then(|()| {
            if dir.exists() {
                std::fs::rename(dir, &old)?;
                if let Err(e) = std::fs::rename(&stage, dir) {
                    // Put the old folder back: nothing changed.
                    let _ = std::fs::rename(&old, dir);
                    return Err(e);
                }
                let _ = std::fs::remove_dir_all(&old);
                Ok(())
            } else {
                std::fs::rename(&stage, dir)
            }
        });
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&stage);
        }
        result
    }

    /// Builds the new folder content in `stage`.
    fn stage(&self, dir: &Path, stage: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(stage)?;
        if dir.is_dir() {
            let generated: Vec<String> = read_manifest(dir, self.manifest())?;
            carry_over(dir, stage, Path::new(""), &|rel: &str| {
                rel == self.manifest()
                    || generated.iter().any(|g| g == rel)
                    || self.files.contains_key(rel)
            })?;
        }
        for (p, c) in &self.files {
            write_synced(&stage.join(p), c)?;
        }
        let mut manifest = String::new();
        for p in self.files.keys() {
            manifest.push_str(p);
            manifest.push('\n');
        }
        write_synced(&stage.join(self.manifest()), manifest.as_bytes())
    }
}

/// Writes one file atomically: a temporary file beside `path`, then a rename, so a failure never
/// leaves a half-written file (`-o report.html`, `flowtel schema -o`).
pub fn write_file(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        write_synced(&tmp, content)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_synced(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    let mut f = std::fs::File::create(path)?;
    f.write_all(content)?;
    f.sync_all()
}

fn read_manifest(dir: &Path, manifest: &str) -> std::io::Result<Vec<String>> {
    match std::fs::read_to_string(dir.join(manifest)) {
        Ok(text) => Ok(text
            .lines()
            .filter(|l| !l.is_empty() && check_relative(l).is_ok())
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn check_relative(p: &str) -> std::io::Result<()> {
    let path = Path::new(p);
    let ok = !p.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("generated file path `{p}` is not a plain relative path"),
        ))
    }
}

/// Copies (hard-links when it can) every file under `from` that `skip` does not claim into `to`.
fn carry_over(
    from: &Path,
    to: &Path,
    rel: &Path,
    skip: &dyn Fn(&str) -> bool,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from.join(rel))? {
        let entry = entry?;
        let r = rel.join(entry.file_name());
        let key = r.to_string_lossy().replace('\\', "/");
        let ty = entry.file_type()?;
        if ty.is_dir() {
            carry_over(from, to, &r, skip)?;
        } else if !skip(&key) {
            let dst = to.join(&r);
            if let Some(p) = dst.parent() {
                std::fs::create_dir_all(p)?;
            }
            if std::fs::hard_link(entry.path(), &dst).is_err() {
                std::fs::copy(entry.path(), &dst)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> FileSet {
        let mut s = FileSet::new();
        for (p, c) in files {
            s.add(*p, c.as_bytes());
        }
        s
    }

    #[test]
    fn writes_replaces_and_keeps_foreign_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        set(&[("rules/a.yaml", "a1\n"), ("b.md", "b1\n")])
            .write_to(&dir)
            .unwrap();
        std::fs::write(dir.join("README.txt"), "mine").unwrap();
        let next = set(&[("rules/a.yaml", "a2\n"), ("c.md", "c\n")]);
        assert_eq!(
            next.check(&dir).unwrap(),
            [
                Difference::Missing("c.md".into()),
                Difference::Changed("rules/a.yaml".into()),
                Difference::Stale("b.md".into()),
            ]
        );
        next.write_to(&dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("rules/a.yaml")).unwrap(),
            "a2\n"
        );
        assert!(!dir.join("b.md").exists(), "stale generated file removed");
        assert_eq!(
            std::fs::read_to_string(dir.join("README.txt")).unwrap(),
            "mine"
        );
        assert!(next.check(&dir).unwrap().is_empty());
        // Nothing is left beside the folder.
        let siblings: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(siblings.len(), 1);
    }

    #[test]
    fn generators_share_a_folder_each_with_its_own_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let owned = |owner: &str, files: &[(&str, &str)]| {
            let mut s = FileSet::owned_by(owner);
            for (p, c) in files {
                s.add(*p, c.as_bytes());
            }
            s
        };
        owned("slo", &[("rules.yml", "r\n")])
            .write_to(&dir)
            .unwrap();
        owned("dashboards", &[("a.json", "a\n"), ("b.json", "b\n")])
            .write_to(&dir)
            .unwrap();
        let fewer = owned("dashboards", &[("a.json", "a\n")]);
        assert_eq!(
            fewer.check(&dir).unwrap(),
            [Difference::Stale("b.json".into())]
        );
        fewer.write_to(&dir).unwrap();
        assert!(!dir.join("b.json").exists());
        assert!(fewer.check(&dir).unwrap().is_empty());
        // The other generator's file and manifest stay.
        assert!(
            owned("slo", &[("rules.yml", "r\n")])
                .check(&dir)
                .unwrap()
                .is_empty()
        );
        assert!(dir.join(".flowtel-slo.generated").is_file());
    }

    #[test]
    fn a_failed_write_leaves_the_old_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        set(&[("a.yaml", "old\n")]).write_to(&dir).unwrap();
        let bad = set(&[("a.yaml", "new\n"), ("../escape.yaml", "x")]);
        assert!(bad.write_to(&dir).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.join("a.yaml")).unwrap(),
            "old\n"
        );
        assert!(!tmp.path().join("escape.yaml").exists());
    }

    #[test]
    fn stdout_of_one_file_is_the_file() {
        assert_eq!(set(&[("a", "x\n")]).to_stdout(), b"x\n");
        assert_eq!(
            String::from_utf8(set(&[("a", "x"), ("b", "y\n")]).to_stdout()).unwrap(),
            "# ==> a <==\nx\n\n# ==> b <==\ny\n"
        );
    }

    #[test]
    fn writes_one_file_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("sub/report.html");
        write_file(&p, b"<html>").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"<html>");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
