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

/// A reader that fails (an `io::Error` naming the budget) once the process holds more than
/// `budget_bytes` of resident memory, checked every MiB read: a parser building values from
/// it stops with an error instead of growing until the allocator aborts, whatever shape the
/// input has (a million empty strings cost far more than their bytes). Linux only; elsewhere
/// it checks nothing.
pub struct MemoryCap<R> {
    inner: R,
    budget_bytes: u64,
    unchecked_bytes: u64,
}

/// Bytes read between two looks at the resident memory.
const CHECK_EVERY_BYTES: u64 = 1 << 20;

impl<R> MemoryCap<R> {
    pub fn new(inner: R, budget_bytes: u64) -> Self {
        MemoryCap {
            inner,
            budget_bytes,
            unchecked_bytes: 0,
        }
    }

    /// The reader inside.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for MemoryCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.unchecked_bytes += n as u64;
        if self.unchecked_bytes >= CHECK_EVERY_BYTES {
            self.unchecked_bytes = 0;
            if resident_bytes().is_some_and(|r| r > self.budget_bytes) {
                return Err(std::io::Error::other(format!(
                    "holding it would take more than {} MB of memory",
                    self.budget_bytes / 1_000_000
                )));
            }
        }
        Ok(n)
    }
}

/// This process's resident memory (Linux: `/proc/self/statm`), none where unknown.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system setting.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// The smaller of the address-space and data-segment limits (`ulimit -v`, `ulimit -d`),
/// when either is set.
pub fn memory_limit_bytes() -> Option<u64> {
    [libc::RLIMIT_AS, libc::RLIMIT_DATA]
        .into_iter()
        .filter_map(|resource| {
            let mut rl = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit only writes the struct it is given.
            let ok = unsafe { libc::getrlimit(resource, &mut rl) } == 0;
            (ok && rl.rlim_cur != libc::RLIM_INFINITY).then_some(rl.rlim_cur)
        })
        .min()
}
