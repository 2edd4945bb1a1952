//! The gates as workerd has them, on one object: a storage read holds the input gate; a put
//! is visible to the object's next read at once, does not hold the input gate, and holds the
//! object's outgoing messages (the output gate) until it is durable.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::Objects;
use crate::clock::Clock;
use crate::draw::Draws;
use crate::record::Recorder;
use crate::scenario::Scenario;
use crate::server::storage::{Stored, AUTH_TOKEN};
use crate::server::{variant, Env};

fn objects() -> Rc<Objects> {
    let scenario = Scenario::from_toml_str(
        "<test>",
        "[storage]\nread_ms = { constant = 100 }\nwrite_ms = { constant = 50 }\n\
         [object]\ncold_start_ms = { constant = 0 }\n",
        &[],
    )
    .unwrap();
    Objects::new(Env {
        kv: crate::server::kv_namespace(&scenario, None),
        edge_secret: crate::server::SIM_EDGE_SECRET.into(),
        scenario: Rc::new(scenario),
        draws: Draws::new(1, 1),
        clock: Clock::Sim,
        variant: variant::by_name("batched").unwrap(),
        recorder: Rc::new(RefCell::new(Recorder::default())),
        live: None,
    })
}

#[test]
fn a_read_holds_the_input_gate_a_put_holds_only_the_output_gate() {
    let mut sim = turmoil::Builder::new().build();
    sim.client("test", async {
        let objects = objects();
        let env = &objects.env;
        let object = objects.get("job-1").unwrap();
        let now = || env.clock.now_ms();

        // A read in flight (0–100 ms): an event arriving at 10 ms waits for it.
        let (o, os) = (object.clone(), objects.clone());
        let read = tokio::task::spawn_local(async move {
            o.storage_get(&os.env, &[AUTH_TOKEN])
                .await
                .ok()
                .unwrap()
                .values
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(object.deliver(env).await);
        assert_eq!(now(), 100, "the event waited for the read");
        assert_eq!(read.await.unwrap(), vec![None]);

        // A put: the next event is delivered at once, and the next read sees the value from
        // the cache before it is durable ...
        let t_ms = now();
        object.storage_put(env, vec![(AUTH_TOKEN, Stored::Text("t".into()))]);
        drop(object.deliver(env).await);
        assert_eq!(now(), t_ms, "a put's commit does not hold the input gate");
        let read = object.storage_get(env, &[AUTH_TOKEN]).await.ok().unwrap();
        assert_eq!(read.values, vec![Some(Stored::Text("t".into()))]);
        assert_eq!(
            (read.took_ms, now()),
            (0, t_ms),
            "read-your-writes, from the cache"
        );
        assert_eq!(object.durable_token(env).0, None, "not yet durable");
        // ... while an outgoing message waits until it is durable.
        object.output_gate(env).await.unwrap();
        assert_eq!(now(), t_ms + 50, "the output gate waited for the commit");
        assert_eq!(object.durable_token(env).0.as_deref(), Some("t"));
        // Nothing pending: the next message leaves at once.
        object.output_gate(env).await.unwrap();
        assert_eq!(now(), t_ms + 50);
        Ok(())
    });
    sim.run().unwrap();
}

#[test]
fn the_edge_header_counts_only_with_the_runs_secret_and_an_edge_variant() {
    use crate::server::edge::{verified, EDGE_VERIFIED};
    let with = |value: &str| {
        let mut h = hyper::HeaderMap::new();
        h.insert(EDGE_VERIFIED, value.parse().unwrap());
        h
    };
    // batched checks at the object: no header makes it skip its read.
    let objects = objects();
    assert!(!verified(
        &objects.env,
        &with(crate::server::SIM_EDGE_SECRET)
    ));
    let mut env = Env {
        kv: objects.env.kv.clone(),
        edge_secret: "s3cret".into(),
        scenario: objects.env.scenario.clone(),
        draws: Draws::new(1, 1),
        clock: Clock::Sim,
        variant: variant::by_name("kv-edge").unwrap(),
        recorder: Rc::new(RefCell::new(Recorder::default())),
        live: None,
    };
    assert!(verified(&env, &with("s3cret")));
    for forged in ["1", "simulation", "s3cret "] {
        assert!(!verified(&env, &with(forged)), "{forged:?}");
    }
    assert!(!verified(&env, &hyper::HeaderMap::new()));
    env.variant = variant::by_name("parallel").unwrap();
    assert!(!verified(&env, &with("s3cret")));
}
