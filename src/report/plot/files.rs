//! Writing plots into a directory, and removing the plots an earlier run wrote there that
//! this one did not: the manifest lists what this tool wrote, and only those files are ever
//! removed, so a user's own files in the directory are safe.

use std::collections::BTreeSet;
use std::path::Path;

use super::Plot;

/// The manifest's file name, in the plot directory.
pub const MANIFEST: &str = "plots.manifest";

/// Most bytes of a manifest read back (a bound on a file anyone could have edited).
const MANIFEST_BYTES_MAX: u64 = 1 << 20;

/// The files a plot set consists of, by name.
fn files_of(plots: &[Plot]) -> BTreeSet<String> {
    plots
        .iter()
        .flat_map(|p| {
            let png = p.png.then(|| format!("{}.png", p.name));
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

/// The names the previous manifest lists (none when there is none or it cannot be read).
fn previous(dir: &Path) -> Vec<String> {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(dir.join(MANIFEST)) else {
        return Vec::new();
    };
    let mut text = String::new();
    if file
        .take(MANIFEST_BYTES_MAX)
        .read_to_string(&mut text)
        .is_err()
    {
        return Vec::new();
    }
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| is_plot_name(l))
        .map(str::to_string)
        .collect()
}

/// Writes every plot as `DIR/NAME.svg` (the PNGs were written while rendering), removes the
/// plots the previous manifest lists that this set does not, and writes the new manifest.
pub fn write_plots(dir: &Path, plots: &[Plot]) -> std::io::Result<()> {
    let now = files_of(plots);
    for stale in previous(dir).iter().filter(|n| !now.contains(*n)) {
        match std::fs::remove_file(dir.join(stale)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    for p in plots {
        std::fs::write(dir.join(format!("{}.svg", p.name)), &p.svg)?;
    }
    let mut manifest = String::from(
        "# Plots handshake-sim wrote here; the next run in this directory removes those it \
         does not write again.\n",
    );
    for name in &now {
        manifest.push_str(name);
        manifest.push('\n');
    }
    std::fs::write(dir.join(MANIFEST), manifest)
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
