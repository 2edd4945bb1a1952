//! The worst job's timeline in the HTML report: its phases as a small hand-written SVG (one
//! lane per part of the system, the client's deadline as a line) and every step as a table.

use std::fmt::Write;

use super::esc;
use crate::record::JobRecord;
use crate::replay::Step;

/// The job `run` names as worst, replayed.
pub struct WorstJob<'a> {
    pub variant: &'a str,
    pub seed: u64,
    pub job: u64,
    /// The command that replays it.
    pub command: &'a str,
    pub record: &'a JobRecord,
    pub steps: &'a [Step],
    /// The client's deadline from the start of a connect, in ms.
    pub deadline_ms: u64,
}

/// A span of a lane: from, to, label.
struct Phase {
    lane: usize,
    from_ms: u64,
    to_ms: u64,
    label: String,
}

/// The rows of the SVG: the client's requests, the object's upgrades, and what the upgrade
/// waited for inside the object.
const LANES: [&str; 3] = ["client", "object", "storage"];
/// Most steps the table lists (the replay command prints them all).
const ROWS_MAX: usize = 300;

/// The phases the steps show: the POST until its answer and each connect until the client's
/// answer (client row), each upgrade at the object until the socket was accepted or the
/// upgrade ended (object row), each storage read and cold start (storage row).
fn phases(steps: &[Step]) -> Vec<Phase> {
    let mut out = Vec::new();
    let after = |i: usize, host: &str, ends: &[&str]| {
        steps[i + 1..]
            .iter()
            .find(|s| s.host == host && ends.iter().any(|e| s.message.starts_with(e)))
    };
    for (i, s) in steps.iter().enumerate() {
        let m = s.message.as_str();
        let (end, label, lane) = if m == "connect" || m.starts_with("POST /api") {
            let end = steps[i + 1..].iter().find(|e| e.host == "fleet");
            (end, if m == "connect" { "handshake" } else { "POST" }, 0)
        } else if m == "upgrade request at object" {
            let ends = ["socket accepted", "upgrade canceled", "upgrade rejected"];
            (after(i, "objects", &ends), "upgrade at object", 1)
        } else if m == "storage read start" {
            let ends = ["storage read end", "storage read failed"];
            (after(i, "objects", &ends), "read", 2)
        } else if m == "cold start" {
            let ms = s.fields.iter().find(|(k, _)| k == "cold_start_ms");
            let ms = ms.and_then(|(_, v)| v.parse::<u64>().ok()).unwrap_or(0);
            out.push(Phase {
                lane: 2,
                from_ms: s.t_ms,
                to_ms: s.t_ms + ms,
                label: format!("cold start {ms} ms"),
            });
            continue;
        } else {
            continue;
        };
        if let Some(e) = end {
            out.push(Phase {
                lane,
                from_ms: s.t_ms,
                to_ms: e.t_ms,
                label: format!("{label} {} ms", e.t_ms - s.t_ms),
            });
        }
    }
    out
}

/// The timeline as SVG: from the job's first step to the end of its last handshake (and its
/// deadline), a tenth more on the right.
fn svg(w: &WorstJob) -> String {
    let phases = phases(w.steps);
    let t0 = w.steps.first().map_or(0, |s| s.t_ms);
    let connects: Vec<u64> = (w.steps.iter())
        .filter(|s| s.message == "connect")
        .map(|s| s.t_ms)
        .collect();
    let last = phases.iter().map(|p| p.to_ms).max().unwrap_or(t0 + 1);
    // The deadline widens the axis only when it is near what the job did: race-378's 10 s
    // deadline squeezed a 100 ms job into the left edge. Off the axis, it is said in words.
    let deadline_at = connects.last().map(|c| c + w.deadline_ms);
    let on_axis = deadline_at.filter(|d| *d <= last + (last - t0).max(1));
    let end = last.max(on_axis.unwrap_or(0));
    let span = ((end - t0) as f64 * 1.1).max(1.0);
    let (left, width, lane_h) = (80.0, 820.0, 34.0);
    let x = |t: u64| left + (t.saturating_sub(t0)) as f64 / span * width;
    let height = 40.0 + lane_h * LANES.len() as f64 + 30.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"920\" height=\"{height}\" viewBox=\"0 0 920 {height}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    for (i, lane) in LANES.iter().enumerate() {
        let y = 30.0 + lane_h * i as f64;
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{:.0}\">{lane}</text><line x1=\"{left}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" stroke=\"#ddd\"/>",
            y + 20.0,
            y + 16.0,
            left + width,
            y + 16.0
        );
    }
    for p in &phases {
        let y = 30.0 + lane_h * p.lane as f64 + 4.0;
        let (x0, x1) = (x(p.from_ms), x(p.to_ms).max(x(p.from_ms) + 1.5));
        let fill = ["#0072B2", "#009E73", "#D55E00"][p.lane % 3];
        let _ = write!(
            s,
            "<rect class=\"phase\" x=\"{x0:.1}\" y=\"{y:.0}\" width=\"{:.1}\" height=\"22\" fill=\"{fill}\" fill-opacity=\"0.35\" stroke=\"{fill}\"><title>{} ({}–{} ms)</title></rect>",
            x1 - x0,
            esc(&p.label),
            p.from_ms,
            p.to_ms
        );
        if x1 - x0 > 60.0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.0}\">{}</text>",
                x0 + 3.0,
                y + 15.0,
                esc(&p.label)
            );
        }
    }
    if let (Some(at), None) = (deadline_at, on_axis) {
        let _ = write!(
            s,
            "<text x=\"{:.0}\" y=\"16\" text-anchor=\"end\">deadline {} ms after connect: at {at} ms, past this axis</text>",
            left + width,
            w.deadline_ms
        );
    }
    if let Some(c) = connects.last().filter(|_| on_axis.is_some()) {
        let dx = x(c + w.deadline_ms);
        let _ = write!(
            s,
            "<line class=\"deadline\" x1=\"{dx:.1}\" y1=\"20\" x2=\"{dx:.1}\" y2=\"{:.0}\" stroke=\"#000\" stroke-width=\"2\"/><text x=\"{:.1}\" y=\"16\" text-anchor=\"end\">deadline {} ms after connect</text>",
            30.0 + lane_h * LANES.len() as f64,
            dx,
            w.deadline_ms
        );
    }
    let axis_y = 30.0 + lane_h * LANES.len() as f64 + 18.0;
    let _ = write!(
        s,
        "<text x=\"{left}\" y=\"{axis_y:.0}\">{t0} ms</text><text x=\"{:.0}\" y=\"{axis_y:.0}\" text-anchor=\"end\">{} ms (simulated)</text></svg>",
        left + width,
        t0 + span as u64
    );
    s
}

/// The section: heading, outcome, SVG, and the steps as a table.
pub(super) fn section(b: &mut String, w: &WorstJob) {
    let _ = writeln!(
        b,
        "<h2>Worst job: {} job {} seed {}</h2>\n<p>{} after {} attempt(s). Replay it: <code>{}</code></p>",
        esc(w.variant),
        w.job,
        w.seed,
        w.record.outcome.map_or("no outcome", |o| o.name()),
        w.record.attempts,
        esc(w.command)
    );
    b.push_str(&svg(w));
    let _ = writeln!(
        b,
        "\n<details><summary>Every step ({} events, simulated ms)</summary><table class=\"steps\"><tr><th>t_ms</th><th>host</th><th>event</th></tr>",
        w.steps.len()
    );
    for step in w.steps.iter().take(ROWS_MAX) {
        let fields: Vec<String> = (step.fields.iter())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{} {}</td></tr>",
            step.t_ms,
            esc(&step.host),
            esc(&step.message),
            esc(&fields.join(" "))
        );
    }
    b.push_str("</table>");
    if w.steps.len() > ROWS_MAX {
        let _ = write!(
            b,
            "<p>First {ROWS_MAX} steps; the replay command prints all.</p>"
        );
    }
    b.push_str("</details>\n");
}
