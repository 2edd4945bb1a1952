//! Writing an output whole: a temporary file beside the target, renamed over it when complete.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{claimed, kind_of, parent_of, set_nonblocking, FileError};

/// The temporary file of target `NAME` is `.NAME` + this, in the same directory: one fixed
/// name, so an interrupted write leaves at most one behind, which the next write of that
/// target replaces.
pub const TEMP_SUFFIX: &str = ".handshake-sim-partial";

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

/// How `path` may be written, or why not: never through a symbolic link to a file, never
/// over a read-only file; in a managed directory only as a regular file; a path the user
/// named may also be a device or a FIFO (`/dev/null`, `/dev/stdout`, `>(jq .)`, links to one
/// included), which is written in place and replaces nothing.
fn way_of(path: &Path, named: Named) -> Result<Way, FileError> {
    use std::os::unix::fs::FileTypeExt;
    if path.as_os_str().to_string_lossy().ends_with('/') {
        return Err(FileError::refused(
            path,
            "names a directory (it ends in /), not a file",
        ));
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Way::Replace),
        Err(e) => return Err(FileError::refused(path, format!("cannot be written ({e})"))),
    };
    let stream = |t: std::fs::FileType| t.is_char_device() || t.is_fifo();
    let followed = std::fs::metadata(path).map(|m| m.file_type());
    if named == Named::ByUser && followed.is_ok_and(stream) {
        return Ok(Way::Stream);
    }
    if meta.file_type().is_symlink() {
        return Err(FileError::refused(
            path,
            "is a symbolic link; the tool never writes through one (name its target, `-` for \
             standard output, or remove the link)",
        ));
    }
    if !meta.is_file() {
        return Err(FileError::refused(
            path,
            format!(
                "is {}; outputs are written only as regular files",
                kind_of(&meta)
            ),
        ));
    }
    if meta.permissions().readonly() {
        return Err(FileError::refused(path, "is read-only; it is not replaced"));
    }
    Ok(Way::Replace)
}

/// Refuses a file the tool would write in an output directory it manages when it is a
/// symbolic link, anything but a regular file or read-only, or when its directory takes no
/// new file. Nothing is left behind.
pub fn check_output(path: &Path) -> Result<(), FileError> {
    check(path, Named::ByTool)
}

/// [`check_output`] for a path the user named (`--json FILE`): a device or a FIFO is
/// written in place. A FIFO is opened now, so that one nobody reads is refused before the
/// work, and held open until it is written ([`claimed`]: closing it would end its reader's
/// input).
pub fn check_named_output(path: &Path) -> Result<(), FileError> {
    check(path, Named::ByUser)
}

fn check(path: &Path, named: Named) -> Result<(), FileError> {
    if way_of(path, named)? == Way::Stream {
        return hold_if_fifo(path);
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
    // A file can be created there: its temporary file, created and removed again.
    let temp = temp_path(path);
    create_temp(&temp, path)?;
    let _ = std::fs::remove_file(&temp);
    Ok(())
}

/// Opens the FIFO `path` for writing and holds it ([`claimed`]); a device is left unopened.
fn hold_if_fifo(path: &Path) -> Result<(), FileError> {
    use std::os::unix::fs::FileTypeExt;
    let fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    if fifo && !claimed::holds_fifo(path) {
        claimed::hold_fifo(path, open_stream(path)?);
    }
    Ok(())
}

/// The temporary file of `target`: hidden, beside it.
fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent_of(target).join(format!(".{name}{TEMP_SUFFIX}"))
}

/// Creates `temp` anew (never through a link: `O_CREAT | O_EXCL`), readable as a file the user
/// creates is (mode 0666 less the umask). A leftover of an interrupted write (a regular file
/// or a link by that name) is removed first; anything else by that name is refused.
fn create_temp(temp: &Path, target: &Path) -> Result<std::fs::File, FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Ok(meta) = std::fs::symlink_metadata(temp) {
        if !(meta.is_file() || meta.file_type().is_symlink()) {
            return Err(FileError::refused(
                temp,
                format!(
                    "is {}, where {} is written first",
                    kind_of(&meta),
                    target.display()
                ),
            ));
        }
        let _ = std::fs::remove_file(temp);
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(temp)
        .map_err(|e| FileError::refused(target, format!("cannot be written ({e})")))
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
    /// The temporary file, until it is renamed into place (none when streaming).
    temp: Option<PathBuf>,
    file: std::io::BufWriter<std::fs::File>,
}

impl Staged {
    /// Checks a file the tool names in an output directory it manages ([`check_output`])
    /// and starts its temporary file.
    pub fn create(target: &Path) -> Result<Staged, FileError> {
        Staged::start(target, Named::ByTool)
    }

    fn start(target: &Path, named: Named) -> Result<Staged, FileError> {
        let (file, temp) = match way_of(target, named)? {
            Way::Replace => {
                let temp = temp_path(target);
                (create_temp(&temp, target)?, Some(temp))
            }
            Way::Stream => match claimed::take_fifo(target) {
                Some(held) => (held, None),
                None => (open_stream(target)?, None),
            },
        };
        Ok(Staged {
            target: target.to_path_buf(),
            named,
            temp,
            file: std::io::BufWriter::new(file),
        })
    }

    /// Renames the complete file into place. The target is checked again just before (a
    /// symbolic link planted meanwhile is refused; `rename` itself never follows one).
    pub fn commit(mut self) -> Result<(), FileError> {
        let target = self.target.clone();
        self.file
            .flush()
            .map_err(|e| FileError::write(&target, e))?;
        let Some(temp) = self.temp.take() else {
            return Ok(());
        };
        let result = (|| {
            keep_mode(&temp, &target).map_err(|e| FileError::write(&target, e))?;
            if way_of(&target, self.named)? != Way::Replace {
                return Err(FileError::refused(&target, "is no longer a regular file"));
            }
            std::fs::rename(&temp, &target).map_err(|e| FileError::write(&target, e))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// A file written over an existing one keeps that file's permission bits (only those: a
/// setuid or setgid bit is not carried over to a file of the tool's output).
fn keep_mode(temp: &Path, target: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.is_file() => {
            let mode = meta.permissions().mode() & 0o777;
            std::fs::set_permissions(temp, std::fs::Permissions::from_mode(mode))
        }
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
    set_nonblocking(&file, false).map_err(|e| FileError::write(path, e))?;
    Ok(file)
}

/// Creates the missing directories above the output file `path` (none when its directory is
/// there, or is something else: the check that follows refuses that).
pub fn create_parent(path: &Path) -> Result<(), FileError> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    match std::fs::symlink_metadata(parent) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => claimed::create_dir_all(parent)
            .map_err(|e| {
                FileError::refused(path, format!("its directory cannot be created ({e})"))
            }),
        _ => Ok(()),
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
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => claimed::create_dir_all(dir)
            .map_err(|e| FileError::refused(dir, format!("cannot be written ({e})")))?,
        Err(e) => return Err(FileError::refused(dir, format!("cannot be written ({e})"))),
    }
    check(&dir.join(".handshake-sim-write-check"), Named::ByTool)
}
