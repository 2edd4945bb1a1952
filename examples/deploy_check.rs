//! How another crate uses handshake-sim in its own tests (as a dev-dependency): load a
//! scenario, override what the change under test alters, run over seeds, assert.
//!
//! Run it: `cargo run --release --example deploy_check`. In a test, the same lines go inside
//! a `#[test] fn`; `assert_expect` panics with the figures and the command to reproduce.

use handshake_sim::Experiment;

fn main() -> Result<(), handshake_sim::Error> {
    // "Our storage got slower: does the fix still hold with a 300 ms client deadline?"
    let outcome = Experiment::bundled("issue407")?
        .set("storage.read_ms", "{ uniform = [90, 130] }")?
        .set("client.handshake_timeout_ms", "300")?
        .variants(&["sequential", "parallel", "batched"])?
        .seeds(1..=3)
        .run()?;

    for name in ["sequential", "parallel", "batched"] {
        println!(
            "{name:>10}: failure rate {:.3}, p95 upgrade {} ms",
            outcome.figure(&format!("{name}.failure_rate"))?,
            outcome.figure(&format!("{name}.p95_upgrade_ms"))?
        );
    }
    outcome.assert_expect("parallel.failure_rate < 0.05");
    outcome.assert_expect("batched.p95_upgrade_ms <= parallel.p95_upgrade_ms");
    Ok(())
}
