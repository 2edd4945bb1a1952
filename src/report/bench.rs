//! `bench`'s table (one row per measurement, printed as they come) and its JSON file.

use crate::bench::{Measurement, Progress, Results, SweepScaling};

/// The table's header line.
pub fn header() -> String {
    format!(
        "{:<8} {:>7} {:>6} {:>8} {:>9} {:>11} {:>7} {:>13} {:>10} {:>11} {:>11} {:>8}",
        "workload",
        "jobs",
        "conc",
        "wall_s",
        "sim_s",
        "jobs/s",
        "×floor",
        "upgrades/s",
        "sim×",
        "peak_rss",
        "B/conn",
        "conns"
    )
}

/// One measurement's row.
pub fn row(m: &Measurement) -> String {
    format!(
        "{:<8} {:>7} {:>6} {:>8.3} {:>9.1} {:>11.0} {:>7} {:>13.0} {:>10.0} {:>10.1}M {:>11} {:>8}",
        format!("{:?}", m.workload).to_lowercase(),
        m.jobs,
        m.concurrency,
        m.wall_s,
        m.sim_s,
        m.jobs_per_s,
        m.floor_ratio.map_or("–".into(), |r| format!("{r:.2}")),
        m.upgrades_per_s,
        m.sim_speedup,
        m.peak_rss_bytes as f64 / 1048576.0,
        m.bytes_per_connection.map_or("–".into(), |b| b.to_string()),
        m.connections_peak
    )
}

/// What to print (one or more lines, without the final newline) when the driver progresses.
pub fn progress(p: &Progress) -> String {
    match p {
        Progress::Measured(m) => row(m),
        Progress::Scaling => format!(
            "\nscaling of the flow workload (jobs at concurrency 1000; concurrency at 5000 jobs):\n{}",
            header()
        ),
        Progress::SweepScaled(sw) => sweep_scaling(sw),
    }
}

fn sweep_scaling(sw: &SweepScaling) -> String {
    format!(
        "\nsweep of {} points: {:.2} s on 1 thread, {:.2} s on 2 threads: {:.2}x, identical output: {}",
        sw.runs, sw.wall_s_1_thread, sw.wall_s_2_threads, sw.speedup, sw.identical_output
    )
}

/// The `--json` file: pretty, with a trailing newline.
pub fn json(r: &Results) -> Result<String, serde_json::Error> {
    let v = serde_json::json!({
        "workloads": r.workloads,
        "scaling": r.scaling,
        "sweep_scaling": r.sweep_scaling,
    });
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    Ok(text)
}

/// What a `bench --child` process prints for its driver: the measurement as one JSON line
/// (without the newline).
pub fn child_line(m: &Measurement) -> Result<String, serde_json::Error> {
    serde_json::to_string(m)
}
