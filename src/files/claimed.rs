//! What a command takes hold of while it checks its outputs, before anything runs: each FIFO
//! the user named as an output, opened for writing then and held open until it is written;
//! and each directory made for an output, removed again if still empty when the command
//! fails.
//!
//! A FIFO is opened at the check because that is when a FIFO nobody reads is found (opening
//! it for writing fails), so it is refused before the work rather than after; and it stays
//! open because closing it would end its reader's input.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The FIFOs opened at the check, by the path the user named.
static FIFOS: Mutex<Vec<(PathBuf, std::fs::File)>> = Mutex::new(Vec::new());
/// The directories made for outputs, in the order they were made (each above those in it).
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A lock that a panic elsewhere does not poison: the lists stay valid between any two calls.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps `file`, the FIFO `path` opened for writing, until [`take_fifo`].
pub(super) fn hold_fifo(path: &Path, file: std::fs::File) {
    lock(&FIFOS).push((path.to_path_buf(), file));
}

/// Whether the FIFO `path` is held open.
pub(super) fn holds_fifo(path: &Path) -> bool {
    lock(&FIFOS).iter().any(|(p, _)| p == path)
}

/// The FIFO `path` opened at the check, now to be written.
pub(super) fn take_fifo(path: &Path) -> Option<std::fs::File> {
    let mut fifos = lock(&FIFOS);
    let i = fifos.iter().position(|(p, _)| p == path)?;
    Some(fifos.remove(i).1)
}

/// Makes `dir` and whatever is missing above it, noting each directory it made (those made
/// before a failure too).
pub(super) fn create_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut made = Vec::new();
    let result = make_dirs(dir, &mut made);
    lock(&DIRS).extend(made);
    result
}

/// Removes the directories made for outputs that are still empty, innermost first: a
/// command that failed leaves none of them behind. One that holds a file stays, with those
/// above it.
pub fn remove_created_dirs() {
    let made = std::mem::take(&mut *lock(&DIRS));
    remove_empty(made);
}

/// Makes `dir` and whatever is missing above it, one level at a time, pushing each directory
/// this call made onto `made` (outermost first). One that exists already, or that another
/// process makes meanwhile, is not ours and is not noted.
fn make_dirs(dir: &Path, made: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut levels: Vec<&Path> = dir
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .collect();
    levels.reverse();
    for level in levels {
        match std::fs::create_dir(level) {
            Ok(()) => made.push(level.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && level.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes each of `made` (outermost first) that is empty, innermost first.
fn remove_empty(made: Vec<PathBuf>) {
    for dir in made.into_iter().rev() {
        let _ = std::fs::remove_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_directories_are_removed_when_empty_innermost_first() {
        let d = tempfile::tempdir().unwrap();
        let empty = d.path().join("a/b/c");
        let kept = d.path().join("x/y");
        let mut made = Vec::new();
        make_dirs(&empty, &mut made).unwrap();
        let a = d.path().join("a");
        assert_eq!(made, [a.clone(), a.join("b"), empty.clone()]);
        make_dirs(&kept, &mut made).unwrap();
        std::fs::write(kept.join("f"), b"keep").unwrap();
        remove_empty(made);
        assert!(!a.exists());
        assert!(kept.join("f").is_file());
        assert!(
            d.path().is_dir(),
            "a directory there before is never removed"
        );
    }

    /// A level that cannot be made (a name past the file system's limit) stops the making;
    /// the levels made before it are noted, so that they can be removed.
    #[test]
    fn levels_made_before_a_failure_are_noted() {
        let d = tempfile::tempdir().unwrap();
        let long = "x".repeat(300);
        let mut made = Vec::new();
        assert!(make_dirs(&d.path().join("new").join(&long).join("y"), &mut made).is_err());
        assert_eq!(made, [d.path().join("new")]);
        remove_empty(made);
        assert!(!d.path().join("new").exists());
    }
}
