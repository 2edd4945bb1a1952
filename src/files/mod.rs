//! The files a user hands the tool, and the files it writes for them.
//!
//! Inputs are read only when reading them cannot hang or run away: a file the tool names in a
//! directory it manages (a shard's `sweep.json`, a plot manifest) must be a regular file; a
//! path the user named may also be a device or a pipe (`<(…)`), but not a FIFO nobody
//! writes to ([`input`]). Outputs are written whole to a temporary file beside their target
//! and renamed into place only when complete, so a command that fails (or is killed) leaves
//! the previous file as it was; never through a symbolic link, never into anything but a
//! regular file in a managed directory, never over a read-only file ([`output`]), and never
//! over one of the command's own inputs ([`Disjoint`]).

mod claimed;
mod disjoint;
mod input;
mod output;

pub use claimed::remove_created_dirs;
pub use disjoint::Disjoint;
pub use input::{
    memory_limit_bytes, open_input, open_named_input, resident_bytes, Input, MemoryCap,
};
pub use output::{
    check_named_output, check_output, create_parent, prepare_dir, write, write_named, Staged,
    TEMP_SUFFIX,
};

use std::path::Path;

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
}

impl crate::failure::BadInput for FileError {
    /// A refused or unreadable path is the user's input; a write that failed part-way is not.
    fn is_bad_input(&self) -> bool {
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
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Sets or clears `O_NONBLOCK` on an open file.
fn set_nonblocking(file: &std::fs::File, on: bool) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor `file` owns, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The directory a file path is in (`.` for a bare name).
fn parent_of(path: &Path) -> std::path::PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::BadInput as _;
    use std::io::Write as _;
    use std::path::PathBuf;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    fn names(d: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary() {
        let d = dir();
        let p = d.path().join("out.json");
        std::fs::write(&p, "old").unwrap();
        write(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(names(d.path()), ["out.json"]);
    }

    #[test]
    fn an_interrupted_write_leaves_the_old_file_and_one_leftover_at_most() {
        let d = dir();
        let p = d.path().join("points.csv");
        std::fs::write(&p, "old").unwrap();
        let mut s = Staged::create(&p).unwrap();
        s.write_all(b"half").unwrap();
        drop(s);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(names(d.path()), ["points.csv"]);
        // A process killed mid-write leaves its temporary file: the next write replaces it.
        let leftover = d.path().join(format!(".points.csv{TEMP_SUFFIX}"));
        std::fs::write(&leftover, "killed").unwrap();
        write(&p, b"new").unwrap();
        assert_eq!(names(d.path()), ["points.csv"]);
    }

    #[test]
    fn symlinks_fifos_directories_and_read_only_files_are_never_written() {
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
        mkfifo(&fifo);
        assert!(write(&fifo, b"x")
            .unwrap_err()
            .to_string()
            .contains("a FIFO"));
        assert!(open_input(&fifo)
            .unwrap_err()
            .to_string()
            .contains("a FIFO"));
        assert!(write(d.path(), b"x").is_err());
        assert!(
            check_named_output(&d.path().join("new/")).is_err(),
            "a trailing /"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o444)).unwrap();
        assert!(write(&victim, b"x")
            .unwrap_err()
            .to_string()
            .contains("read-only"));
    }

    #[test]
    fn a_replaced_file_keeps_its_permission_bits_but_no_setuid() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir();
        let p = d.path().join("j.json");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o4640)).unwrap();
        write_named(&p, b"new").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_named_fifo_is_read_only_with_a_writer() {
        let d = dir();
        let fifo = d.path().join("in.toml");
        mkfifo(&fifo);
        let e = open_named_input(&fifo).err().unwrap();
        assert!(e.to_string().contains("nobody writes to"), "{e}");
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, b"[scenario]\n").unwrap())
        };
        // The writer's open blocks until a reader comes: keep trying until it is there.
        let mut text = String::new();
        for _ in 0..500 {
            if let Ok(mut input) = open_named_input(&fifo) {
                std::io::Read::read_to_string(&mut input, &mut text).unwrap();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        writer.join().unwrap();
        assert_eq!(text, "[scenario]\n");
    }

    fn io(out_dir: &Path, shard: &Path) -> Result<(), FileError> {
        Disjoint::default()
            .input_dir("DIRS", shard)
            .output_dir("--out", out_dir, &["points-by-seed.csv".to_string()])
            .check()
    }

    #[test]
    fn an_output_on_an_input_is_refused_however_it_is_spelled() {
        let d = dir();
        let s1 = d.path().join("s1");
        std::fs::create_dir(&s1).unwrap();
        std::fs::write(s1.join("points-by-seed.csv"), "x").unwrap();
        let spellings: Vec<PathBuf> = vec![
            s1.clone(),
            d.path().to_path_buf(),
            s1.join("sub"),
            s1.join("new/.."),
            d.path().join("missing/../s1"),
            s1.join("."),
        ];
        for out in spellings {
            assert!(
                io(&out, &s1).unwrap_err().is_bad_input(),
                "{}",
                out.display()
            );
        }
        io(&d.path().join("s2"), &s1).unwrap();
        // By inode, by another output, inside an input directory.
        let hard = d.path().join("hard.csv");
        std::fs::hard_link(s1.join("points-by-seed.csv"), &hard).unwrap();
        let file = s1.join("points-by-seed.csv");
        let e = Disjoint::default()
            .input("A", &file)
            .output("--json", &hard)
            .check();
        assert!(e.unwrap_err().to_string().contains("overwrite the input A"));
        let two = d.path().join("o.json");
        let e = Disjoint::default()
            .output("--json", &two)
            .output("--records", &two)
            .check();
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("also the output of --json"));
        let e = Disjoint::default()
            .input_dir("DIRS", &s1)
            .output("--html", &s1.join("points.csv"))
            .check();
        assert!(e.unwrap_err().to_string().contains("inside the input DIRS"));
        let e = Disjoint::default()
            .input_dir("DIRS", &s1)
            .input_dir("DIRS", &s1.join("."))
            .check();
        assert!(e.unwrap_err().to_string().contains("a second time"));
    }
}
