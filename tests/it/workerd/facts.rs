//! The model's storage and gate facts (docs/model.md, "The model" → "Checked against workerd"),
//! checked in workerd with `worker/test/facts.js` on both local storage back-ends: `disk`
//! (SQLite files; a put's commit holds the output gate) and `memory` (ActorCache, the
//! production KV cache layer, over an empty store that never flushes: uncached reads are real
//! asynchronous I/O, and nothing is ever committed).

use super::{get_json, Config, Workerd};

fn facts(args: &[String]) -> Option<(Workerd, std::sync::MutexGuard<'static, ()>)> {
    let alone = super::exclusive();
    let w = Workerd::start_config(&Config {
        file: "test/facts.capnp",
        constant: "config",
        sockets: &["disk", "memory"],
        state_dirs: &["facts-storage"],
        env: &[],
        args,
    })?;
    Some((w, alone))
}

/// Sends `n` requests for `path` at once (one thread and connection each) and waits for all.
fn concurrently(port: u16, path: &str, n: usize) {
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| get_json(port, path));
        }
    });
}

/// Read-your-writes: a put not yet awaited (let alone durable) is what the object's next get
/// and get-many read.
#[test]
fn a_put_is_visible_to_the_objects_own_reads_at_once() {
    let Some((w, _alone)) = facts(&[]) else {
        return;
    };
    for backend in ["disk", "memory"] {
        let v = get_json(w.port(backend), "/ryw?id=ryw");
        assert_eq!(v["read"], v["wrote"], "{backend}: {v}");
        assert_eq!(v["readMany"], v["wrote"], "{backend}: {v}");
    }
}

/// The output gate: the object puts the token and returns its answer (the POST's 202 in the
/// reference Worker); when the commit of a write made before the answer fails, the answer
/// never reaches the caller and the put is rolled back. The answer could only be withheld if
/// it waited for the commit. (Locally the commit is a SQLite transaction of microseconds, so
/// how long the 202 waits for a production commit cannot be seen here; the `memory` back-end
/// never commits, and its output gate is never held.)
#[test]
fn the_answer_after_a_put_leaves_only_once_the_commit_succeeded() {
    let Some((w, _alone)) = facts(&[]) else {
        return;
    };
    let disk = w.port("disk");
    let ok = get_json(disk, "/gate?id=gate-ok&fail=0");
    assert_eq!(ok["delivered"], true, "{ok}");
    assert_eq!(ok["answer"], "202", "{ok}");
    assert_eq!(get_json(disk, "/read?id=gate-ok")["authToken"], "t1");
    let failed = get_json(disk, "/gate?id=gate-fail&fail=1");
    assert_eq!(failed["delivered"], false, "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("FOREIGN KEY"),
        "{failed}"
    );
    assert_eq!(
        get_json(disk, "/read?id=gate-fail")["authToken"],
        serde_json::Value::Null
    );
}

/// Storage reads hold the input gate, timers do not: 24 concurrent `get → put(v + 1)`
/// increments of one key lose none; with an awaited 2 ms timer between the get and the put
/// they lose updates; with the timer inside `blockConcurrencyWhile` (what the reference
/// Worker does around an injected read latency) they lose none again.
#[test]
fn concurrent_increments_lose_updates_only_across_a_timer() {
    let Some((w, _alone)) = facts(&[]) else {
        return;
    };
    let n = 24;
    for backend in ["disk", "memory"] {
        let port = w.port(backend);
        let mut counts = Vec::new();
        for gap in ["none", "timer", "bcw-timer"] {
            concurrently(port, &format!("/incr?id=incr-{gap}&gap={gap}"), n);
            let count = get_json(port, &format!("/count?id=incr-{gap}&key=n"))["n"]
                .as_u64()
                .unwrap();
            counts.push((gap, count));
        }
        eprintln!("{backend}: {n} increments each → {counts:?}");
        assert_eq!(counts[0].1, n as u64, "{backend}: {counts:?}");
        assert!(counts[1].1 < n as u64, "{backend}: {counts:?}");
        assert_eq!(counts[2].1, n as u64, "{backend}: {counts:?}");
    }
}

/// A read that really waits for storage holds the input gate: on the `memory` back-end a get
/// of a key never written goes to the store (asynchronous I/O). A counter in object memory,
/// read before 8 such gets and written after them, loses no update under 24 concurrent
/// requests; with `allowConcurrency` (the gate opened on purpose) the same requests lose
/// updates, which shows that other requests did arrive while the reads were in flight.
#[test]
fn storage_reads_hold_the_input_gate() {
    let Some((w, _alone)) = facts(&[]) else {
        return;
    };
    let port = w.port("memory");
    let n = 24;
    let mut counts = Vec::new();
    for concurrent in [0, 1] {
        concurrently(
            port,
            &format!("/reads?id=reads-{concurrent}&concurrent={concurrent}"),
            n,
        );
        let count = get_json(port, &format!("/count?id=reads-{concurrent}&key=memory"))["n"]
            .as_u64()
            .unwrap();
        counts.push(count);
    }
    eprintln!("memory: {n} requests → counter {counts:?} (gate held, allowConcurrency)");
    assert_eq!(counts[0], n as u64, "{counts:?}");
    assert!(counts[1] < n as u64, "{counts:?}");
}

/// `get([a, b])` is one storage operation, two gets are two: workerd's own accounting of
/// each object's storage operations (`--async-trace`). (ActorCache sends one getMultiple RPC
/// for it; the trace shows the operations, not the RPCs.)
#[test]
fn get_many_is_one_storage_operation() {
    // Skipped before anything is made: the trace directory exists only for a real run.
    if Workerd::binary_or_skip().is_none() {
        return;
    }
    let trace_dir = Scratch::new("hs-trace");
    let trace = trace_dir.0.join("async-trace.jsonl");
    let args = vec!["--async-trace".to_string(), trace.display().to_string()];
    let Some((w, alone)) = facts(&args) else {
        return;
    };
    let port = w.port("memory");
    get_json(port, "/getmany?id=getmany-1&many=1");
    get_json(port, "/getmany?id=getmany-0&many=0");
    drop(w);
    drop(alone);
    let text = std::fs::read_to_string(&trace).unwrap();
    let gets = gets_per_context(&text);
    assert_eq!(gets, vec![1, 2], "storage gets per object, in order");
}

/// A directory of this test process, removed when dropped (a failed assertion too).
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `durable_object_storage_get` operations of each context that made any, in the order
/// the contexts first made one.
fn gets_per_context(trace: &str) -> Vec<u32> {
    let mut order: Vec<(u64, u32)> = Vec::new();
    for line in trace.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["e"] != "init" || v["name"] != "durable_object_storage_get" {
            continue;
        }
        let ctx = v["ctx"].as_u64().unwrap();
        match order.iter_mut().find(|(c, _)| *c == ctx) {
            Some((_, n)) => *n += 1,
            None => order.push((ctx, 1)),
        }
    }
    order.into_iter().map(|(_, n)| n).collect()
}
