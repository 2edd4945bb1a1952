//! No output on an input, and no two outputs on one file.

use std::path::{Component, Path, PathBuf};

use super::FileError;

/// The inputs and outputs of one command. Refused, before anything is opened for writing:
/// an output file that is an input file or another output (by path, however spelled, or by
/// inode); an output file inside an input directory, inside another output file, or that is
/// an output directory; an output directory that is, holds or is inside an input directory;
/// the same input directory twice.
#[derive(Debug, Default)]
pub struct Disjoint {
    inputs: Vec<(String, PathBuf)>,
    input_dirs: Vec<(String, PathBuf)>,
    outputs: Vec<(String, PathBuf)>,
    output_dirs: Vec<(String, PathBuf)>,
}

impl Disjoint {
    /// An input file, named in messages by `arg` (e.g. `SCENARIO`).
    pub fn input(&mut self, arg: &str, path: &Path) -> &mut Self {
        self.inputs.push((arg.to_string(), path.to_path_buf()));
        self
    }

    /// An input directory (a sweep shard's).
    pub fn input_dir(&mut self, arg: &str, path: &Path) -> &mut Self {
        self.input_dirs.push((arg.to_string(), path.to_path_buf()));
        self
    }

    /// An output file (`-`, standard output, is left out).
    pub fn output(&mut self, arg: &str, path: &Path) -> &mut Self {
        if path.as_os_str() != "-" {
            self.outputs.push((arg.to_string(), path.to_path_buf()));
        }
        self
    }

    /// An output directory and the names of the files the command writes in it.
    pub fn output_dir(&mut self, arg: &str, dir: &Path, names: &[String]) -> &mut Self {
        self.output_dirs.push((arg.to_string(), dir.to_path_buf()));
        for name in names {
            self.outputs.push((arg.to_string(), dir.join(name)));
        }
        self
    }

    /// Refuses the first output that would land on an input or on another output.
    pub fn check(&self) -> Result<(), FileError> {
        let refuse = |at: &Path, why: String| {
            Err(FileError::refused(at, format!("{why}; write it elsewhere")))
        };
        for (i, (arg, dir)) in self.input_dirs.iter().enumerate() {
            if let Some((_, other)) = self.input_dirs[..i].iter().find(|(_, o)| same(o, dir)) {
                let why = format!("{arg} names {} a second time", other.display());
                return Err(FileError::refused(dir, why));
            }
        }
        for (arg, out) in &self.output_dirs {
            for (in_arg, input) in &self.input_dirs {
                if let Some(how) = nesting(out, input) {
                    return refuse(
                        out,
                        format!("{arg} {how} the input {in_arg} {}", input.display()),
                    );
                }
            }
        }
        for (i, (arg, out)) in self.outputs.iter().enumerate() {
            if let Some((in_arg, _)) = self.inputs.iter().find(|(_, p)| same(p, out)) {
                return refuse(out, format!("{arg} would overwrite the input {in_arg}"));
            }
            if let Some((in_arg, dir)) = self.input_dirs.iter().find(|(_, d)| inside(out, d)) {
                let why = format!("{arg} is inside the input {in_arg} {}", dir.display());
                return refuse(out, why);
            }
            if let Some((other, _)) = self.outputs[..i].iter().find(|(_, p)| same(p, out)) {
                return refuse(out, format!("{arg} is also the output of {other}"));
            }
            if let Some((other, _)) = self.outputs.iter().find(|(_, p)| inside(out, p)) {
                return refuse(out, format!("{arg} is inside the output file of {other}"));
            }
            if let Some((dir_arg, _)) = self.output_dirs.iter().find(|(_, d)| same(d, out)) {
                return refuse(
                    out,
                    format!("{arg} is also the output directory of {dir_arg}"),
                );
            }
        }
        Ok(())
    }
}

/// Where a path leads: absolute, every existing part with its links resolved, `.` and `..`
/// taken as the kernel takes them, and the parts that do not exist yet (an output directory
/// to be created) appended as written.
fn resolve(path: &Path) -> PathBuf {
    let start = if path.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir().unwrap_or_default()
    };
    let mut out = start;
    for part in path.components() {
        match part {
            Component::RootDir | Component::Prefix(_) => out = PathBuf::from("/"),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                if let Ok(real) = std::fs::canonicalize(&out) {
                    out = real;
                }
            }
        }
    }
    out
}

/// Whether two paths name the same file: the same inode, or the same resolved path.
fn same(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        if (x.dev(), x.ino()) == (y.dev(), y.ino()) {
            return true;
        }
    }
    resolve(a) == resolve(b)
}

/// Whether `path` is inside directory `dir` (not `dir` itself).
fn inside(path: &Path, dir: &Path) -> bool {
    let (p, d) = (resolve(path), resolve(dir));
    p != d && p.starts_with(&d)
}

/// How output directory `out` meets input directory `input`: "is", "holds", "is inside".
fn nesting(out: &Path, input: &Path) -> Option<&'static str> {
    if same(out, input) {
        Some("is")
    } else if inside(input, out) {
        Some("holds")
    } else if inside(out, input) {
        Some("is inside")
    } else {
        None
    }
}
