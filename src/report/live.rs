//! What the live commands print: `serve`'s banner and `probe`'s table, SLOs and JSON.

use std::fmt::Write as _;

use super::Report;
use crate::verdict::SloJudged;

/// `serve`'s first lines, once it listens on `addr`.
pub fn serve_banner(
    scenario: &str,
    variant: &str,
    seed: u64,
    addr: std::net::SocketAddr,
) -> String {
    format!(
        "handshake-sim serve: {scenario} with variant {variant}, seed {seed}, on http://{addr}\n  POST http://{addr}/api/enrichment/batch  {{\"jobId\":\"job-1\",\"books\":5}}\n  GET  ws://{addr}/ws/progress?jobId=job-1&token=TOKEN\nCtrl-C or SIGTERM stops it (open sockets close with 1001)."
    )
}

/// `serve`'s last line.
pub const SERVE_STOPPED: &str = "handshake-sim serve: stopped";

/// Which endpoint a probe ran against, and how.
pub struct Probed<'a> {
    pub url: &'a str,
    pub jobs: u32,
    pub concurrency: u32,
}

/// The probe's table and its client-side SLO verdicts.
pub fn probe_text(probed: &Probed, report: &Report, verdicts: &[SloJudged]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "probe {} — {} job(s), concurrency {}",
        probed.url, probed.jobs, probed.concurrency
    );
    s.push_str(&super::table(report));
    let _ = writeln!(
        s,
        "\nSLOs (client side: upgrade = request sent → 101; canceled = gave up):"
    );
    for v in verdicts {
        let _ = writeln!(
            s,
            "  {:<16} {:>10.3}   warn > {}, crit > {}   {}",
            v.slo,
            v.value,
            v.warning,
            v.critical,
            v.verdict.name()
        );
    }
    s
}

/// The probe's `--json` file: the report with the URL and the SLO verdicts; pretty, with a
/// trailing newline.
pub fn probe_json(
    report: &Report,
    url: &str,
    verdicts: &[SloJudged],
) -> Result<String, serde_json::Error> {
    let mut v = serde_json::to_value(report)?;
    v["url"] = serde_json::Value::from(url);
    v["slo"] = serde_json::to_value(verdicts)?;
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    Ok(text)
}
