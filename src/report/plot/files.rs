//! Writing plots into a directory, and removing the plots an earlier run wrote there that
//! this one did not: the manifest lists what this tool wrote, and only those files are ever
//! removed, so a user's own files in the directory are safe.

use std::collections::BTreeSet;
use std::path::Path;

use super::Plot;
use crate::files::{self, FileError};

/// The manifest's file name, in the plot directory.
pub const MANIFEST: &str = "plots.manifest";

/// Most bytes of a manifest read back (a bound on a file anyone could have edited).
const MANIFEST_BYTES_MAX: u64 = 1 << 20;

/// The files a plot directory holds for plots of these stems: each `.svg` (and `.png` with
/// `png`), and the manifest.
pub fn plot_files<'a>(stems: impl IntoIterator<Item = &'a str>, png: bool) -> Vec<String> {
    let mut files: Vec<String> = stems
        .into_iter()
        .flat_map(|s| {
            let png = png.then(|| format!("{s}.png"));
            std::iter::once(format!("{s}.svg")).chain(png)
        })
        .collect();
    files.push(MANIFEST.to_string());
    files
}

/// The files a plot set consists of, by name.
fn files_of(plots: &[Plot]) -> BTreeSet<String> {
    plots
        .iter()
        .flat_map(|p| {
            let png = p.png.is_some().then(|| format!("{}.png", p.name));
            std::iter::once(format!("{}.svg", p.name)).chain(png)
        })
        .collect()
}

/// A name this tool could have written: a plain file name ending in .svg or .png.
fn is_plot_name(name: &str) -> bool {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    plain && (name.ends_with(".svg") || name.ends_with(".png"))
}

/// The names the previous manifest lists (none when there is none). A manifest that is not a
/// regular file (a FIFO, a link) is refused, as its replacement would be.
fn previous(dir: &Path) -> Result<Vec<String>, FileError> {
    use std::io::Read;
    let path = dir.join(MANIFEST);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(Vec::new());
    }
    files::check_output(&path)?;
    let mut text = String::new();
    // Unreadable text (not UTF-8) lists nothing: the manifest is only a list of our names.
    let _ = files::open_input(&path)?
        .take(MANIFEST_BYTES_MAX)
        .read_to_string(&mut text);
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| is_plot_name(l))
        .map(str::to_string)
        .collect())
}

/// Refuses, before anything is rendered or run, a plot directory whose manifest is not a
/// regular file.
pub fn check_plot_dir(dir: &Path) -> Result<(), FileError> {
    previous(dir).map(drop)
}

/// Writes every plot as `DIR/NAME.svg` (and `NAME.png` when rendered), each file whole and
/// never through a symbolic link; then the new manifest; then removes the plots the previous
/// manifest lists that this set does not (only regular files: a name now taken by a
/// directory or a link is no longer a plot of ours, and is left alone).
pub fn write_plots(dir: &Path, plots: &[Plot]) -> Result<(), FileError> {
    let stale = previous(dir)?;
    let now = files_of(plots);
    for name in &now {
        files::check_output(&dir.join(name))?;
    }
    for p in plots {
        files::write(&dir.join(format!("{}.svg", p.name)), p.svg.as_bytes())?;
        if let Some(png) = &p.png {
            files::write(&dir.join(format!("{}.png", p.name)), png)?;
        }
    }
    let mut manifest = String::from(
        "# Plots handshake-sim wrote here; the next run in this directory removes those it \
         does not write again.\n",
    );
    for name in &now {
        manifest.push_str(name);
        manifest.push('\n');
    }
    files::write(&dir.join(MANIFEST), manifest.as_bytes())?;
    for name in stale.iter().filter(|n| !now.contains(*n)) {
        let path = dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            std::fs::remove_file(&path).map_err(|source| FileError::Write {
                path: path.display().to_string(),
                source,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_plot_names_are_ever_removed() {
        for ok in ["heatmap-parallel.svg", "upgrade-cdf.png", "a_b.svg"] {
            assert!(is_plot_name(ok), "{ok}");
        }
        for bad in [
            "../x.svg",
            "/etc/x.svg",
            "sub/x.svg",
            "points.csv",
            "sweep.json",
            ".svg",
            "",
            "x.svg.bak",
            "a b.svg",
        ] {
            assert!(!is_plot_name(bad), "{bad}");
        }
    }
}
