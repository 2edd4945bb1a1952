//! Every bad upgrade gets its status code, and only a valid token gets a 101.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use handshake_sim::internal::client::Connect;
use handshake_sim::internal::server::variant;
use handshake_sim::internal::sim;
use handshake_sim::internal::wire::api::BatchAccepted;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

/// Sends one request through the worker and returns the status.
async fn send(edge: &dyn Connect, req: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
    let io = edge.connect().await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .unwrap();
    tokio::task::spawn_local(async move {
        let _ = conn.with_upgrades().await;
    });
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status();
    let body = if status == StatusCode::SWITCHING_PROTOCOLS {
        Bytes::new()
    } else {
        resp.into_body().collect().await.unwrap().to_bytes()
    };
    (status, body)
}

async fn post(edge: &dyn Connect, job: &str) -> BatchAccepted {
    let req = Request::post("/api/enrichment/batch")
        .header("host", "worker")
        .body(Full::new(Bytes::from(format!(
            r#"{{"jobId":"{job}","books":1}}"#
        ))))
        .unwrap();
    let (status, body) = send(edge, req).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    serde_json::from_slice(&body).unwrap()
}

/// An upgrade request; `None` leaves a header out.
fn upgrade(
    query: &str,
    upgrade: Option<&str>,
    key: Option<&str>,
    version: Option<&str>,
) -> Request<Full<Bytes>> {
    let mut b = Request::get(format!("/ws/progress{query}")).header("host", "worker");
    if let Some(u) = upgrade {
        b = b.header("upgrade", u).header("connection", "Upgrade");
    }
    if let Some(k) = key {
        b = b.header("sec-websocket-key", k);
    }
    if let Some(v) = version {
        b = b.header("sec-websocket-version", v);
    }
    b.body(Full::new(Bytes::new())).unwrap()
}

/// A named request and the status it must get.
type Case = (&'static str, Request<Full<Bytes>>, StatusCode);

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Runs `cases(token_of_job_1, token_of_job_2)` in a world and checks every status.
fn check(extra: &str, wait_ms: u64, cases: fn(&str, &str) -> Vec<Case>) {
    let s = crate::scenario(&format!(
        "[storage]\nread_ms = {{ uniform = [5, 10] }}\n[enrichment]\nbook_ms = {{ constant = 100 }}\n{extra}"
    ));
    for v in handshake_sim::internal::names::VariantId::ALL.map(|v| v.name()) {
        let mut world = sim::world(&s, variant::by_name(v).unwrap(), 5);
        let failures = Rc::new(RefCell::new(Vec::new()));
        let out = failures.clone();
        let edge = world.edge();
        world.sim.client("tester", async move {
            let one = post(&*edge, "job-1").await;
            let two = post(&*edge, "job-2").await;
            tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
            for (name, req, want) in cases(&one.token, &two.token) {
                let (got, _) = send(&*edge, req).await;
                if got != want {
                    out.borrow_mut()
                        .push(format!("{v}: {name}: got {got}, want {want}"));
                }
            }
            Ok(())
        });
        world.sim.run().unwrap();
        assert!(failures.borrow().is_empty(), "{:#?}", failures.borrow());
    }
}

#[test]
fn bad_upgrades_get_their_status_and_only_a_valid_token_gets_101() {
    check("", 0, |one, two| {
        let ok = Some(KEY);
        let v13 = Some("13");
        let ws = Some("websocket");
        vec![
            (
                "no Upgrade header",
                upgrade(&format!("?jobId=job-1&token={one}"), None, ok, v13),
                StatusCode::UPGRADE_REQUIRED,
            ),
            (
                "Upgrade: h2c",
                upgrade(&format!("?jobId=job-1&token={one}"), Some("h2c"), ok, v13),
                StatusCode::UPGRADE_REQUIRED,
            ),
            (
                "missing jobId",
                upgrade(&format!("?token={one}"), ws, ok, v13),
                StatusCode::BAD_REQUEST,
            ),
            (
                "malformed jobId",
                upgrade(&format!("?jobId=../job-1&token={one}"), ws, ok, v13),
                StatusCode::BAD_REQUEST,
            ),
            (
                "empty jobId",
                upgrade(&format!("?jobId=&token={one}"), ws, ok, v13),
                StatusCode::BAD_REQUEST,
            ),
            (
                "jobId twice",
                upgrade(
                    &format!("?jobId=job-1&jobId=job-2&token={one}"),
                    ws,
                    ok,
                    v13,
                ),
                StatusCode::BAD_REQUEST,
            ),
            (
                "missing key",
                upgrade(&format!("?jobId=job-1&token={one}"), ws, None, v13),
                StatusCode::BAD_REQUEST,
            ),
            (
                "version 8",
                upgrade(&format!("?jobId=job-1&token={one}"), ws, ok, Some("8")),
                StatusCode::UPGRADE_REQUIRED,
            ),
            (
                "missing token",
                upgrade("?jobId=job-1", ws, ok, v13),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "wrong token",
                upgrade(
                    "?jobId=job-1&token=00000000000000000000000000000000",
                    ws,
                    ok,
                    v13,
                ),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "truncated token",
                upgrade(&format!("?jobId=job-1&token={}", &one[..31]), ws, ok, v13),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "other job's token",
                upgrade(&format!("?jobId=job-1&token={two}"), ws, ok, v13),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "never posted job",
                upgrade(&format!("?jobId=job-9&token={one}"), ws, ok, v13),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "valid",
                upgrade(&format!("?jobId=job-1&token={one}"), ws, ok, v13),
                StatusCode::SWITCHING_PROTOCOLS,
            ),
            (
                "valid, other job",
                upgrade(&format!("?jobId=job-2&token={two}"), ws, ok, v13),
                StatusCode::SWITCHING_PROTOCOLS,
            ),
        ]
    });
}

#[test]
fn an_expired_token_gets_401() {
    check("[auth]\ntoken_ttl_ms = 500\n", 1000, |one, _| {
        vec![(
            "expired",
            upgrade(
                &format!("?jobId=job-1&token={one}"),
                Some("websocket"),
                Some(KEY),
                Some("13"),
            ),
            StatusCode::UNAUTHORIZED,
        )]
    });
}

#[test]
fn the_batch_post_checks_its_input() {
    check("", 0, |_, _| {
        let post = |body: &str| {
            Request::post("/api/enrichment/batch")
                .header("host", "worker")
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap()
        };
        vec![
            ("not json", post("books"), StatusCode::BAD_REQUEST),
            (
                "bad job id",
                post(r#"{"jobId":"a/b","books":1}"#),
                StatusCode::BAD_REQUEST,
            ),
            (
                "unknown field",
                post(r#"{"jobId":"job-3","books":1,"x":1}"#),
                StatusCode::BAD_REQUEST,
            ),
            (
                "GET on the batch path",
                Request::get("/api/enrichment/batch")
                    .header("host", "worker")
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            (
                "unknown path",
                Request::get("/nope")
                    .header("host", "worker")
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
                StatusCode::NOT_FOUND,
            ),
        ]
    });
}
