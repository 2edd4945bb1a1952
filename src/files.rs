//! The files a user hands the tool, and the files it writes for them.
//!
//! Inputs are read only when they are regular files: a FIFO would hang the read and a device
//! may never end. Outputs are written whole to a temporary file beside their target and
//! renamed into place only when complete, so a command that fails (or is killed) leaves the
//! previous file as it was; the tool never writes through a symbolic link or into anything
//! but a regular file, and never over one of the command's own inputs ([`Disjoint`]).

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file the tool cannot read or write as asked.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The user's input or output path is not usable: refused before anything was written
    /// (exit code 2 in the CLI).
    #[error("{path}: {reason}")]
    Refused { path: String, reason: String },
    /// An input could not be opened or read (it is missing, or not readable).
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// Writing failed part-way (a full disk): the target was left as it was.
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl FileError {
    fn refused(path: &Path, reason: impl Into<String>) -> FileError {
        FileError::Refused {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }

    fn read(path: &Path, source: std::io::Error) -> FileError {
        FileError::Read {
            path: path.display().to_string(),
            source,
        }
    }

    fn write(path: &Path, source: std::io::Error) -> FileError {
        FileError::Write {
            path: path.display().to_string(),
            source,
        }
    }

    /// Whether this is the user's input (exit 2) rather than a failure while writing (exit 1).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, FileError::Write { .. })
    }
}

/// What a path holds, for messages: "a FIFO", "a directory", ….
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading when it is a regular file (following a symbolic link, which
/// reading cannot harm). It is opened non-blocking first, so that a FIFO named as a file
/// is refused instead of waiting forever for a writer, and checked on the open descriptor, so
/// that nothing swapped in between the check and the open is read.
pub fn open_input(path: &Path) -> Result<std::fs::File, FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| FileError::read(path, e))?;
    let meta = file.metadata().map_err(|e| FileError::read(path, e))?;
    if !meta.is_file() {
        return Err(FileError::refused(
            path,
            format!(
                "{}, not a regular file; only files are read",
                kind_of(&meta)
            ),
        ));
    }
    set_blocking(&file).map_err(|e| FileError::read(path, e))?;
    Ok(file)
}

/// Clears `O_NONBLOCK` again (it means nothing for a regular file, but the descriptor should
/// say what it is).
fn set_blocking(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function's caller owns, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// How an output target is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// Absent or a regular file: a temporary file beside it, renamed over it when complete.
    Replace,
    /// A device (`/dev/null`) or a FIFO the user named: written in place, as a stream.
    Stream,
}

/// Whose path an output is: the user's own argument (`--json FILE`), or a file the tool
/// names inside an output directory it manages (`--out DIR/points.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    ByUser,
    ByTool,
}

/// How `path` may be written, or why not: never through a symbolic link to a file; in a
/// managed directory only as a regular file; a path the user named may also be a device or a
/// FIFO (`/dev/null`, `/dev/stdout`, `>(jq .)`), which is written in place.
fn way_of(path: &Path, named: Named) -> Result<Way, FileError> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Way::Replace),
        Err(e) => return Err(FileError::refused(path, format!("cannot be written ({e})"))),
    };
    let t = meta.file_type();
    let stream = |t: std::fs::FileType| t.is_char_device() || t.is_fifo();
    // `/dev/stdout` and `/dev/fd/63` (`>(jq .)`) are links to a terminal or a pipe: written
    // in place, they replace nothing.
    if t.is_symlink() && named == Named::ByUser {
        if let Ok(target) = std::fs::metadata(path) {
            if stream(target.file_type()) {
                return Ok(Way::Stream);
            }
        }
    }
    let stream = |t: std::fs::FileType| t.is_char_device() || t.is_fifo();
    // `/dev/stdout` and `/dev/fd/63` (`>(jq .)`) are links to a terminal or a pipe: written
    // in place, they replace nothing.
    if t.is_symlink() && named == Named::ByUser {
        if let Ok(target) = std::fs::metadata(path) {
            if stream(target.file_type()) {
                return Ok(Way::Stream);
            }
        }
    }
    if t.is_symlink() {
        return Err(FileError::refused(
            path,
            "is a symbolic link; the tool never writes through one (name its target, `-` for \
             standard output, or remove the link)",
        ));
    }
    if t.is_file() {
        return Ok(Way::Replace);
    }
    if named == Named::ByUser && stream(t) {
        return Ok(Way::Stream);
    }
    Err(FileError::refused(
        path,
        format!(
            "is {}; outputs are written only as regular files",
            kind_of(&meta)
        ),
    ))
}

/// Refuses a file the tool would write in an output directory it manages when it is a
/// symbolic link or anything but a regular file, or when its directory takes no new file.
/// Nothing is left behind.
pub fn check_output(path: &Path) -> Result<(), FileError> {
    check(path, Named::ByTool)
}

/// [`check_output`] for a path the user named (`--json FILE`): a device or a FIFO is
/// written in place (a FIFO is not opened until then: opening it would end its reader's
/// input).
pub fn check_named_output(path: &Path) -> Result<(), FileError> {
    check(path, Named::ByUser)
}

fn check(path: &Path, named: Named) -> Result<(), FileError> {
    if way_of(path, named)? == Way::Stream {
        return Ok(());
    }
    let dir = parent_of(path);
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(FileError::refused(
                path,
                format!("cannot be written: {} is not a directory", dir.display()),
            ))
        }
        Err(e) => {
            return Err(FileError::refused(
                path,
                format!("cannot be written: its directory {}: {e}", dir.display()),
            ))
        }
    }
    temp_in(&dir, path)
        .map(drop)
        .map_err(|e| FileError::refused(path, format!("cannot be written ({e})")))
}

/// The directory a file path is in (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A new temporary file in `dir`, named after `target` and hidden, readable as a file the
/// user creates is (mode 0666 less the umask, not tempfile's 0600).
fn temp_in(dir: &Path, target: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let stem = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{stem}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

/// Writes `bytes` to `path`, a file in an output directory the tool manages, whole: into a
/// temporary file beside it, renamed over it once complete ([`Staged`]).
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_as(path, bytes, Named::ByTool)
}

/// [`write`] for a path the user named: a device or a FIFO is written in place.
pub fn write_named(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_as(path, bytes, Named::ByUser)
}

fn write_as(path: &Path, bytes: &[u8], named: Named) -> Result<(), FileError> {
    let mut staged = Staged::start(path, named)?;
    staged
        .write_all(bytes)
        .map_err(|e| FileError::write(path, e))?;
    staged.commit()
}

/// An output being written: a temporary file in the target's directory that becomes the
/// target on [`Staged::commit`], and is removed if dropped before; or, for a device or FIFO
/// the user named, the target itself.
pub struct Staged {
    target: PathBuf,
    named: Named,
    file: std::io::BufWriter<Sink>,
}

enum Sink {
    Temp(tempfile::NamedTempFile),
    Stream(std::fs::File),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Temp(t) => t.write(buf),
            Sink::Stream(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Temp(t) => t.flush(),
            Sink::Stream(f) => f.flush(),
        }
    }
}

impl Staged {
    /// Checks a file the tool names in an output directory it manages ([`check_output`])
    /// and starts its temporary file.
    pub fn create(target: &Path) -> Result<Staged, FileError> {
        Staged::start(target, Named::ByTool)
    }

    fn start(target: &Path, named: Named) -> Result<Staged, FileError> {
        let cannot =
            |e: std::io::Error| FileError::refused(target, format!("cannot be written ({e})"));
        let sink = match way_of(target, named)? {
            Way::Replace => {
                check(target, named)?;
                Sink::Temp(temp_in(&parent_of(target), target).map_err(cannot)?)
            }
            Way::Stream => Sink::Stream(open_stream(target)?),
        };
        Ok(Staged {
            target: target.to_path_buf(),
            named,
            file: std::io::BufWriter::new(sink),
        })
    }

    /// The target's path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the complete file into place. The target is checked again just before (a
    /// symbolic link planted meanwhile is refused; `rename` itself never follows one).
    pub fn commit(self) -> Result<(), FileError> {
        let target = self.target;
        let sink = self
            .file
            .into_inner()
            .map_err(|e| FileError::write(&target, e.into_error()))?;
        let temp = match sink {
            Sink::Temp(temp) => temp,
            Sink::Stream(_) => return Ok(()),
        };
        keep_mode(&temp, &target).map_err(|e| FileError::write(&target, e))?;
        if way_of(&target, self.named)? != Way::Replace {
            return Err(FileError::refused(&target, "is no longer a regular file"));
        }
        temp.persist(&target)
            .map(drop)
            .map_err(|e| FileError::write(&target, e.error))
    }
}

/// Opens a device or FIFO the user named for writing, non-blocking so that a FIFO nobody
/// reads is refused instead of waited on.
fn open_stream(path: &Path) -> Result<std::fs::File, FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => FileError::refused(path, "is a FIFO nobody reads"),
            _ => FileError::refused(path, format!("cannot be written ({e})")),
        })?;
    set_blocking(&file).map_err(|e| FileError::write(path, e))?;
    Ok(file)
}

/// A file written over an existing one keeps that file's permissions.
fn keep_mode(temp: &tempfile::NamedTempFile, target: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.is_file() => temp.as_file().set_permissions(meta.permissions()),
        _ => Ok(()),
    }
}

impl Write for Staged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Creates the output directory `dir` when missing and checks that a file can be created in
/// it. The directory itself may be a symbolic link the user chose; the files the tool writes
/// in it are checked one by one ([`check_output`]).
pub fn prepare_dir(dir: &Path) -> Result<(), FileError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(meta) => {
            return Err(FileError::refused(
                dir,
                format!("is {}, not a directory", kind_of(&meta)),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .map_err(|e| FileError::refused(dir, format!("cannot be written ({e})")))?,
        Err(e) => return Err(FileError::refused(dir, format!("cannot be written ({e})"))),
    }
    temp_in(dir, Path::new("write-check"))
        .map(drop)
        .map_err(|e| FileError::refused(dir, format!("cannot be written ({e})")))
}

/// The inputs and outputs of one command, so that no output lands on an input: an output
/// file that is an input file (by path or by inode), and an output directory that is, holds,
/// or is inside an input directory, are refused before anything is opened for writing.
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
    pub fn output_dir(&mut self, arg: &str, dir: &Path, names: &[&str]) -> &mut Self {
        self.output_dirs.push((arg.to_string(), dir.to_path_buf()));
        for name in names {
            self.outputs.push((arg.to_string(), dir.join(name)));
        }
        self
    }

    /// Refuses the first output that would land on an input.
    pub fn check(&self) -> Result<(), FileError> {
        for (arg, out) in &self.output_dirs {
            for (in_arg, input) in &self.input_dirs {
                if let Some(how) = nesting(out, input) {
                    return Err(FileError::refused(
                        out,
                        format!(
                            "{arg} {how} the input {in_arg} {}; write it elsewhere",
                            input.display()
                        ),
                    ));
                }
            }
        }
        for (arg, out) in &self.outputs {
            let inputs = self.inputs.iter().chain(&self.input_dirs);
            if let Some((in_arg, _)) = inputs.clone().find(|(_, i)| same_file(i, out)) {
                return Err(FileError::refused(
                    out,
                    format!("{arg} would overwrite the input {in_arg}; write it elsewhere"),
                ));
            }
        }
        Ok(())
    }
}

/// Where a path would resolve: itself when it exists, else its directory's resolution with
/// its name (a missing output directory's parent may exist).
fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    Some(resolve(&parent_of(path))?.join(name))
}

/// Whether two paths name the same file: the same resolved path, or the same inode.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        if (x.dev(), x.ino()) == (y.dev(), y.ino()) {
            return true;
        }
    }
    matches!((resolve(a), resolve(b)), (Some(x), Some(y)) if x == y)
}

/// How output directory `out` meets input directory `input`: "is", "holds", "is inside".
fn nesting(out: &Path, input: &Path) -> Option<&'static str> {
    if same_file(out, input) {
        return Some("is");
    }
    let (o, i) = (resolve(out)?, resolve(input)?);
    if i.starts_with(&o) {
        Some("holds")
    } else if o.starts_with(&i) {
        Some("is inside")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary() {
        let d = dir();
        let p = d.path().join("out.json");
        std::fs::write(&p, "old").unwrap();
        write(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_staged_file_dropped_before_commit_leaves_the_old_one() {
        let d = dir();
        let p = d.path().join("points.csv");
        std::fs::write(&p, "old").unwrap();
        let mut s = Staged::create(&p).unwrap();
        s.write_all(b"half").unwrap();
        drop(s);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn symlinks_fifos_and_directories_are_never_written() {
        let d = dir();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = d.path().join("link.svg");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = write(&link, b"x").unwrap_err();
        assert!(
            e.is_bad_input() && e.to_string().contains("symbolic link"),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = write(&fifo, b"x").unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let e = open_input(&fifo).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let e = open_input(d.path()).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
    }

    #[test]
    fn an_output_on_an_input_is_refused() {
        let d = dir();
        let s1 = d.path().join("s1");
        std::fs::create_dir(&s1).unwrap();
        std::fs::write(s1.join("points-by-seed.csv"), "x").unwrap();
        let check = |out: &Path| {
            Disjoint::default()
                .input_dir("DIRS", &s1)
                .input("DIRS", &s1.join("points-by-seed.csv"))
                .output_dir("--out", out, &["points-by-seed.csv"])
                .check()
        };
        for out in [s1.clone(), d.path().to_path_buf(), s1.join("sub")] {
            assert!(check(&out).unwrap_err().is_bad_input(), "{}", out.display());
        }
        check(&d.path().join("s2")).unwrap();
        // A file by another name that is the same inode.
        let hard = d.path().join("hard.csv");
        std::fs::hard_link(s1.join("points-by-seed.csv"), &hard).unwrap();
        let e = Disjoint::default()
            .input("A", &s1.join("points-by-seed.csv"))
            .output("--json", &hard)
            .check()
            .unwrap_err();
        assert!(e.to_string().contains("overwrite the input A"), "{e}");
    }
}
