//! `conform` against the reference Worker in workerd: every case passes for each handshake
//! variant with objects in memory, and for `sequential` with SQLite-backed objects, whose
//! commits hold the output gate as in production.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use handshake_sim::internal::names::VariantId;

use super::{Config, Workerd};
use crate::conform::{conform, with_outcome};

/// Every case passes against `w`, none fails or errs.
fn passes(w: &Workerd, label: &str) {
    let addr = SocketAddr::from(([127, 0, 0, 1], w.port("http")));
    let (code, v, err) = conform(addr, &[]);
    let log = w.stderr();
    assert_eq!(
        with_outcome(&v, "fail"),
        BTreeSet::new(),
        "{label}: {v:#}\n{err}\n{log}"
    );
    assert_eq!(
        with_outcome(&v, "error"),
        BTreeSet::new(),
        "{label}: {v:#}\n{err}\n{log}"
    );
    assert_eq!(code, 0, "{label}: {err}");
    assert_eq!(
        v["counts"]["pass"],
        handshake_sim::internal::live::conform::CASES.len(),
        "{label}: {v:#}"
    );
}

/// Every variant the object runs. The edge cache's (`kv-edge`, `kv-edge-strict`) check the
/// token in the Worker, in Workers KV, which the reference Worker does not model: they run
/// in the simulation and `serve` (docs/runtime.md, "The reference Worker in workerd").
#[test]
fn conform_passes_against_the_reference_worker_in_every_variant() {
    let object_side = VariantId::ALL.into_iter().filter(|v| {
        handshake_sim::internal::server::variant::by_name(v.name())
            .unwrap()
            .edge_check()
            .is_none()
    });
    for variant in object_side.map(VariantId::name) {
        let Some(w) = Workerd::start(variant, &[("BOOK_MS", "20")]) else {
            return;
        };
        passes(&w, variant);
    }
}

#[test]
fn conform_passes_against_the_reference_worker_with_storage_on_disk() {
    let Some(w) = Workerd::start_config(&Config {
        file: "config.capnp",
        constant: "diskConfig",
        sockets: &["http"],
        state_dirs: &["do-storage"],
        env: &[("VARIANT", "sequential"), ("BOOK_MS", "20")],
        args: &[],
    }) else {
        return;
    };
    passes(&w, "sequential, diskConfig");
}

/// With `sims/issue407.toml`'s storage latency and cold starts (every upgrade restarts the
/// object, emptying what a read finds cached), the module changes when storage answers and
/// nothing the API promises.
#[test]
fn conform_passes_against_the_reference_worker_under_a_scenarios_latency() {
    let latency = crate::common::workerd::latency(&crate::load("issue407.toml", &[]), 1);
    for variant in ["sequential", "memory-cache"] {
        let vars = [
            ("HANDSHAKE_SIM_LATENCY", latency.as_str()),
            ("BOOK_MS", "20"),
        ];
        let Some(w) = Workerd::start(variant, &vars) else {
            return;
        };
        passes(&w, &format!("{variant}, issue407 latency"));
    }
}
