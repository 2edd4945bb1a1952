//! The batch POST's cases: the `202` and its body, and each documented refusal (`400`, `405`,
//! `413`).

use hyper::Method;

use super::context::Context;
use super::finding::Checked;
use super::http::{send, Req};
use super::job::{accepted as check_accepted, batch_body, post};
use crate::wire::api;

pub(super) async fn accepted(ctx: &Context) -> Checked {
    let id = ctx.job_id();
    let answer = post(ctx, &id).await?;
    check_accepted(&answer, &id, ctx.settings.books).map(drop)
}

pub(super) async fn longest_id(ctx: &Context) -> Checked {
    let id = ctx.job_id_of_len(api::JOB_ID_LEN_MAX);
    let answer = post(ctx, &id).await?;
    check_accepted(&answer, &id, ctx.settings.books).map(drop)
}

/// Sends each body as a batch POST and expects `want` for each.
async fn each_body(ctx: &Context, bodies: &[(&str, String)], want: u16) -> Checked {
    for (what, body) in bodies {
        send(ctx, Req::post(body.clone()))
            .await?
            .expect(&format!("POST with {what}"), want)?;
    }
    Ok(())
}

pub(super) async fn malformed_body(ctx: &Context) -> Checked {
    let id = ctx.job_id();
    let bodies = [
        ("a body that is not JSON", "jobId=x&books=1".to_string()),
        ("no books", serde_json::json!({ "jobId": id }).to_string()),
        (
            "books = -1",
            serde_json::json!({ "jobId": id, "books": -1 }).to_string(),
        ),
    ];
    each_body(ctx, &bodies, 400).await
}

pub(super) async fn malformed_id(ctx: &Context) -> Checked {
    let books = ctx.settings.books;
    let bodies = [
        ("jobId \"bad id\"", batch_body("bad id", books)),
        ("jobId \"bad/id\"", batch_body("bad/id", books)),
        ("an empty jobId", batch_body("", books)),
    ];
    each_body(ctx, &bodies, 400).await
}

pub(super) async fn too_long_id(ctx: &Context) -> Checked {
    let id = ctx.job_id_of_len(api::JOB_ID_LEN_MAX + 1);
    let bodies = [(
        "a jobId of 65 characters",
        batch_body(&id, ctx.settings.books),
    )];
    each_body(ctx, &bodies, 400).await
}

pub(super) async fn wrong_method(ctx: &Context) -> Checked {
    // GET without a body; PUT with a well-formed batch body, so only the method is wrong.
    for (method, body) in [(Method::GET, None), (Method::PUT, Some(ctx.job_id()))] {
        let what = format!("{method} {}", api::BATCH_PATH);
        let mut req = Req::new(method, api::BATCH_PATH);
        if let Some(id) = body {
            req = req
                .header("content-type", "application/json")
                .body(batch_body(&id, ctx.settings.books));
        }
        send(ctx, req).await?.expect(&what, 405)?;
    }
    Ok(())
}

pub(super) async fn oversized(ctx: &Context) -> Checked {
    // A well-formed batch body padded with JSON whitespace past the limit: only its size is
    // wrong.
    let mut body = batch_body(&ctx.job_id(), ctx.settings.books);
    body.push_str(&" ".repeat(api::BODY_BYTES_MAX + 1 - body.len()));
    let what = format!("POST with a body of {} bytes", body.len());
    send(ctx, Req::post(body)).await?.expect(&what, 413)
}
