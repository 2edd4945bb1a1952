//! `npm ci` for the tests that need an npm package (workerd in `worker/`, Chromium in
//! `browser/`), once per directory and test process.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest `npm ci` may take before the tests give up on it.
const NPM_CI_TIMEOUT: Duration = Duration::from_secs(300);

/// `npm ci` in `dir`, bounded by [`NPM_CI_TIMEOUT`].
pub fn ci(dir: &Path) -> Result<(), String> {
    let mut child = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("no npm to install {} with ({e})", dir.display()))?;
    let deadline = Instant::now() + NPM_CI_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!(
                    "npm ci in {} failed ({status}): {err}",
                    dir.display()
                ));
            }
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("npm ci took over {NPM_CI_TIMEOUT:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("npm ci: {e}")),
        }
    }
}
