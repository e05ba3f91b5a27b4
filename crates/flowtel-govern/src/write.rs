//! Putting an [`Output`] on disk: every file into a folder atomically (all written to temporary
//! files first, then renamed, so a failure leaves the folder as it was), or compared with what
//! the folder holds (`--check`), or joined for stdout.
//!
//! Each generator lists what it wrote in its own manifest in the folder
//! (`.flowtel-<generator>.generated`), so several generators can share one folder, and a file a
//! generator no longer produces (the dashboard of a removed flow) is removed on the next write
//! and reported by `--check`, while files nobody generated are left alone.

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
    /// The generator wrote the file before but no longer produces it.
    Stale(PathBuf),
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Missing(p) => write!(f, "{}: missing", p.display()),
            Drift::Stale(p) => write!(
                f,
                "{}: no longer generated (its flow or section is gone from the conventions)",
                p.display()
            ),
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

/// Name of a generator's manifest inside its output folder.
pub fn manifest(generator: &str) -> String {
    format!(".flowtel-{generator}.generated")
}

fn read_manifest(dir: &Path, generator: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(manifest(generator)))
        .map(|text| {
            text.lines()
                .filter(|l| {
                    !l.is_empty()
                        && Path::new(l)
                            .components()
                            .all(|c| matches!(c, std::path::Component::Normal(_)))
                })
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Files `generator` wrote into `dir` before that `out` no longer has.
fn stale(dir: &Path, out: &Output, generator: &str) -> Vec<PathBuf> {
    read_manifest(dir, generator)
        .into_iter()
        .filter(|p| !out.files.iter().any(|a| &a.path == p))
        .map(|p| dir.join(p))
        .filter(|p| p.is_file())
        .collect()
}

/// Writes every file of `out` under `dir` (created if needed) with `generator`'s manifest:
/// temporary files beside their targets first, then one rename each, so a failure never leaves
/// a half-written file; then removes the files the generator wrote before and no longer
/// produces.
pub fn write_dir(dir: &Path, out: &Output, generator: &str) -> std::io::Result<()> {
    let gone = stale(dir, out, generator);
    let mut listing = String::new();
    for a in &out.files {
        listing.push_str(&a.path);
        listing.push('\n');
    }
    let manifest_file = crate::Artifact {
        path: manifest(generator),
        contents: listing,
    };
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for a in out.files.iter().chain([&manifest_file]) {
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
        return result;
    }
    for p in gone {
        std::fs::remove_file(p)?;
    }
    Ok(())
}

/// Compares `dir` with `out`: the files that are missing, differ, or that `generator` wrote
/// before and no longer produces (empty when in sync).
pub fn check_dir(dir: &Path, out: &Output, generator: &str) -> Vec<Drift> {
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
    drift.extend(stale(dir, out, generator).into_iter().map(Drift::Stale));
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
        write_dir(dir.path(), &output("x: 1\ny: 2\n"), "t").unwrap();
        assert!(check_dir(dir.path(), &output("x: 1\ny: 2\n"), "t").is_empty());
        let drift = check_dir(dir.path(), &output("x: 1\ny: 3\n"), "t");
        assert_eq!(drift, [Drift::Changed(dir.path().join("a.yml"), 2)]);
        std::fs::remove_file(dir.path().join("sub/b.json")).unwrap();
        let drift = check_dir(dir.path(), &output("x: 1\ny: 2\n"), "t");
        assert_eq!(drift, [Drift::Missing(dir.path().join("sub/b.json"))]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_file_no_longer_generated_is_stale_then_removed_and_foreign_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        write_dir(dir.path(), &output("x: 1\n"), "t").unwrap();
        std::fs::write(dir.path().join("README.md"), "mine").unwrap();
        // Another generator shares the folder.
        let other = Output {
            files: vec![Artifact {
                path: "other.yml".into(),
                contents: "o\n".into(),
            }],
            notes: Vec::new(),
        };
        write_dir(dir.path(), &other, "u").unwrap();
        let mut fewer = output("x: 1\n");
        fewer.files.truncate(1);
        assert_eq!(
            check_dir(dir.path(), &fewer, "t"),
            [Drift::Stale(dir.path().join("sub/b.json"))]
        );
        write_dir(dir.path(), &fewer, "t").unwrap();
        assert!(!dir.path().join("sub/b.json").exists());
        assert!(check_dir(dir.path(), &fewer, "t").is_empty());
        assert!(check_dir(dir.path(), &other, "u").is_empty());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("README.md")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn a_failed_write_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the generator needs a folder: the second file cannot be written.
        std::fs::write(dir.path().join("sub"), "in the way").unwrap();
        assert!(write_dir(dir.path(), &output("x: 1\n"), "t").is_err());
        assert!(!dir.path().join("a.yml").exists());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the obstacle remains");
    }
}
