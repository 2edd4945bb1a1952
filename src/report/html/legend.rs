//! What each row of the run table means, for the HTML report's tooltips and legend (the
//! README's table of rows says the same).

/// The meaning of a row of the run table, by its label.
pub(super) fn meaning(label: &str) -> String {
    let label = label.trim();
    let outcome = |what: &str| format!("jobs that ended {label}: {what}");
    match label {
        "jobs" => "client sessions (one batch POST, one progress socket, one durable object each), pooled over every seed".into(),
        "ok" => outcome("101, pong in time, socket kept until the job completed"),
        "handshake_timeout" => outcome("no 101 before client.handshake_timeout_ms"),
        "ping_timeout" => outcome("no pong within client.ping_timeout_ms of the (queued) ping"),
        "rejected" => outcome("the upgrade was answered 400/401/426"),
        "server_error" => outcome("the upgrade was answered 5xx"),
        "network_error" => outcome("the connection failed, reset or closed early"),
        "failure rate [95% CI]" => "jobs not ok / jobs, with a 95% Wilson score interval".into(),
        "canceled (server)" => "upgrades the object finished for a client that was gone (Cloudflare's outcome: \"canceled\")".into(),
        "no-socket warnings" => "progress messages pushed while the job had no open socket (\"No WebSocket connection available\")".into(),
        "jobs missing progress" => "jobs with at least one progress message lost that way".into(),
        "cold upgrades" => "jobs whose first upgrade found the object cold".into(),
        "retries" => "retries taken, of the POST and of the socket (reconnects included)".into(),
        "silent failures [95% CI]" => "jobs the client saw accepted and the server finished, whose results the client did not all have by client.result_deadline_ms".into(),
        "results complete" => "jobs whose client had every book's result and the completion by the deadline".into(),
        "reconnects" | "token refreshes" | "fallback jobs (polls)" => "the resilient client at work".into(),
        "safety violations" => "progress that reached the app twice or out of order, plus sockets accepted with a token the store did not hold; must be 0".into(),
        _ => pattern_meaning(label),
    }
}

/// Rows whose label carries a name: faults, latency statistics, paired deltas.
fn pattern_meaning(label: &str) -> String {
    if let Some(kind) = label.strip_prefix("fault: ") {
        return format!("faults of kind {kind} injected");
    }
    if let Some(rest) = label.strip_prefix("Δ ") {
        let timing = rest.split_whitespace().next().unwrap_or("");
        return format!(
            "mean per-job difference in {timing} to the first variant, on the same job and seed, \
             with a 95% Student's t interval (negative: faster)"
        );
    }
    let timing = |t: &str| match t {
        "storage_ms" => "time the object spent reading the token (storageDuration)",
        "upgrade_ms" => "request at the object to 101 sent, activation included (totalUpgrade)",
        "client_upgrade_ms" => {
            "request sent to 101 received at the client; only attempts that got a 101 \
             (censored by the deadline)"
        }
        _ => "",
    };
    match label.split_once(' ') {
        Some((t, stat)) if !timing(t).is_empty() => format!(
            "{stat} of {}, ms, each job's first upgrade attempt",
            timing(t)
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_a_run_table_has_a_meaning() {
        for label in [
            "jobs",
            "  ok",
            "  network_error",
            "failure rate [95% CI]",
            "fault: storage_spike",
            "storage_ms p95",
            "client_upgrade_ms mean",
            "Δ upgrade_ms vs sequential (server, all)",
            "safety violations",
        ] {
            assert!(!meaning(label).is_empty(), "{label}");
        }
        assert!(meaning("upgrade_ms p50").starts_with("p50 of request at the object"));
    }
}
