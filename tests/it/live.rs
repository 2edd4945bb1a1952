//! The live code without timing: `probe`'s target checks. The sim–live agreement tests are in
//! `tests/timing/live.rs`.

use handshake_sim::internal::live::Endpoint;

pub(crate) use crate::common::{local, Served};

#[test]
fn probe_refuses_non_loopback_targets_unless_allowed() {
    let err = local(async { Endpoint::parse("http://192.0.2.1:80", false).await.err() });
    assert!(err.unwrap().to_string().contains("--allow-remote"));
    let err = local(async { Endpoint::parse("ftp://127.0.0.1", false).await.err() });
    assert!(err.unwrap().to_string().contains("scheme"));
}
