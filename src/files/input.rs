//! Opening a file to read, so that reading it can neither hang nor run without end.

use std::io::Read;
use std::path::Path;

use super::{kind_of, set_nonblocking, FileError};

/// An input opened for reading: a regular file, or a device or pipe the user named (with the
/// byte read while checking that a FIFO has a writer, put back in front).
pub struct Input {
    file: std::fs::File,
    peeked: Option<u8>,
    regular: bool,
}

impl Input {
    /// The file's length when it is a regular file (a device or pipe has none).
    pub fn regular_len(&self) -> Option<u64> {
        if self.regular {
            self.file.metadata().ok().map(|m| m.len())
        } else {
            None
        }
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.peeked.take() {
            Some(b) if !buf.is_empty() => {
                buf[0] = b;
                Ok(1)
            }
            Some(b) => {
                self.peeked = Some(b);
                Ok(0)
            }
            None => self.file.read(buf),
        }
    }
}

/// Opens a file the tool names in a directory it manages (a shard's `sweep.json`, a plot
/// manifest) when it is a regular file (a link to one is fine: reading cannot harm it). It
/// is opened non-blocking and checked on the open descriptor, so a FIFO is refused instead of
/// waited on, and nothing swapped in between a check and the open is read.
pub fn open_input(path: &Path) -> Result<std::fs::File, FileError> {
    let (file, meta) = open_nonblocking(path)?;
    if !meta.is_file() {
        return Err(FileError::refused(
            path,
            format!(
                "{}, not a regular file; only files are read",
                kind_of(&meta)
            ),
        ));
    }
    set_nonblocking(&file, false).map_err(|e| FileError::read(path, e))?;
    Ok(file)
}

/// Opens a path the user named (a scenario, a log, a run's JSON): a regular file, a device
/// (`/dev/stdin`) or a pipe (`<(…)`), whose reads are then bounded by the reader's own caps.
/// A FIFO nobody writes to is refused, not read as empty or waited on; a directory or a
/// socket is refused.
pub fn open_named_input(path: &Path) -> Result<Input, FileError> {
    use std::os::unix::fs::FileTypeExt;
    let (file, meta) = open_nonblocking(path)?;
    let t = meta.file_type();
    let mut input = Input {
        file,
        peeked: None,
        regular: t.is_file(),
    };
    if t.is_fifo() {
        input.peeked = writer_present(&mut input.file, path)?;
    } else if !(t.is_file() || t.is_char_device()) {
        return Err(FileError::refused(
            path,
            format!(
                "is {}; only files, devices and pipes are read",
                kind_of(&meta)
            ),
        ));
    }
    set_nonblocking(&input.file, false).map_err(|e| FileError::read(path, e))?;
    Ok(input)
}

fn open_nonblocking(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| FileError::read(path, e))?;
    let meta = file.metadata().map_err(|e| FileError::read(path, e))?;
    Ok((file, meta))
}

/// Whether a FIFO opened non-blocking has a writer: a read that finds no writer returns end
/// of file at once (refused: it would read as empty), one that finds a writer with nothing
/// written yet would block (fine: the data is coming). A byte read is handed back.
fn writer_present(fifo: &mut std::fs::File, path: &Path) -> Result<Option<u8>, FileError> {
    let mut one = [0u8; 1];
    match fifo.read(&mut one) {
        Ok(0) => Err(FileError::refused(path, "is a FIFO nobody writes to")),
        Ok(_) => Ok(Some(one[0])),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(FileError::read(path, e)),
    }
}
