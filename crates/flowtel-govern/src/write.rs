//! Putting an [`Output`] on disk: every file into a folder atomically (all written to temporary
//! files first, then renamed, so a failure leaves the folder as it was), or compared with what
//! the folder holds (`--check`), or joined for stdout.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::Output;

/// A file in the folder that is not what the conventions generate now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The file is not there.
    Missing(PathBuf),
    /// The file differs; the first differing line (1-based).
    Changed(PathBuf, usize),
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Missing(p) => write!(f, "{}: missing", p.display()),
            Drift::Changed(p, line) => {
                write!(
                    f,
                    "{}:{line}: differs from what the conventions generate",
                    p.display()
                )
            }
        }
    }
}

/// Writes every file of `out` under `dir` (created if needed): temporary files beside their
/// targets first, then one rename each, so a failure never leaves a half-written file.
pub fn write_dir(dir: &Path, out: &Output) -> std::io::Result<()> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for a in &out.files {
            let target = dir.join(&a.path);
            let parent = target.parent().unwrap_or(dir);
            std::fs::create_dir_all(parent)?;
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
            staged.push((tmp.clone(), target));
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(a.contents.as_bytes())?;
            f.sync_all()?;
        }
        for (tmp, target) in &staged {
            std::fs::rename(tmp, target)?;
        }
        Ok(())
    })();
    if result.is_err() {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result
}

/// Compares `dir` with `out`: the files that are missing or differ (empty when in sync).
pub fn check_dir(dir: &Path, out: &Output) -> Vec<Drift> {
    let mut drift = Vec::new();
    for a in &out.files {
        let path = dir.join(&a.path);
        match std::fs::read(&path) {
            Err(_) => drift.push(Drift::Missing(path)),
            Ok(bytes) if bytes != a.contents.as_bytes() => {
                let have = String::from_utf8_lossy(&bytes);
                let line = have
                    .lines()
                    .zip(a.contents.lines())
                    .position(|(x, y)| x != y)
                    .unwrap_or_else(|| have.lines().count().min(a.contents.lines().count()))
                    + 1;
                drift.push(Drift::Changed(path, line));
            }
            Ok(_) => {}
        }
    }
    drift
}

/// The files for stdout: one file as it is; several each under a `==> path <==` line.
pub fn to_stdout(out: &Output) -> String {
    if let [one] = out.files.as_slice() {
        return one.contents.clone();
    }
    let mut s = String::new();
    for (i, a) in out.files.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&format!("==> {} <==\n", a.path));
        s.push_str(&a.contents);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Artifact;

    fn output(text: &str) -> Output {
        Output {
            files: vec![
                Artifact {
                    path: "a.yml".into(),
                    contents: text.into(),
                },
                Artifact {
                    path: "sub/b.json".into(),
                    contents: "{}\n".into(),
                },
            ],
            notes: Vec::new(),
        }
    }

    #[test]
    fn written_files_check_clean_and_a_change_is_drift() {
        let dir = tempfile::tempdir().unwrap();
        write_dir(dir.path(), &output("x: 1\ny: 2\n")).unwrap();
        assert!(check_dir(dir.path(), &output("x: 1\ny: 2\n")).is_empty());
        let drift = check_dir(dir.path(), &output("x: 1\ny: 3\n"));
        assert_eq!(drift, [Drift::Changed(dir.path().join("a.yml"), 2)]);
        std::fs::remove_file(dir.path().join("sub/b.json")).unwrap();
        let drift = check_dir(dir.path(), &output("x: 1\ny: 2\n"));
        assert_eq!(drift, [Drift::Missing(dir.path().join("sub/b.json"))]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_failed_write_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the generator needs a folder: the second file cannot be written.
        std::fs::write(dir.path().join("sub"), "in the way").unwrap();
        assert!(write_dir(dir.path(), &output("x: 1\n")).is_err());
        assert!(!dir.path().join("a.yml").exists());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the obstacle remains");
    }
}
