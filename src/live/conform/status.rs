//! The status endpoint's cases: the `200` body's shape and values, and its `400` and `401`.

use hyper::Method;

use super::context::Context;
use super::finding::{mismatch, Checked, Finding};
use super::http::{send, Req};
use super::job::{field, posted, Job};
use super::progress::finished;
use crate::wire::api;

/// `GET /api/enrichment/status?{query}`.
fn status_req(query: &str) -> Req {
    Req::new(Method::GET, format!("{}?{query}", api::STATUS_PATH))
}

/// The job's status, checked: (booksDone, done).
async fn status_of(ctx: &Context, job: &Job) -> Result<(u64, bool), Finding> {
    let answer = send(ctx, status_req(&job.query())).await?;
    answer.expect("status with the job's token", 200)?;
    let v: serde_json::Value = serde_json::from_slice(&answer.body)
        .map_err(|e| mismatch("status body", "JSON", format!("{e} ({})", answer.snippet())))?;
    if v.get("jobId").and_then(|x| x.as_str()) != Some(job.id.as_str()) {
        return Err(mismatch(
            "status jobId",
            format!("{:?}", job.id),
            field(&v, "jobId"),
        ));
    }
    if v.get("books").and_then(|x| x.as_u64()) != Some(job.books as u64) {
        return Err(mismatch("status books", job.books, field(&v, "books")));
    }
    let books_done = v.get("booksDone").and_then(|x| x.as_u64());
    let Some(books_done) = books_done.filter(|&n| n <= job.books as u64) else {
        return Err(mismatch(
            "status booksDone",
            format!("an integer in 0..={}", job.books),
            field(&v, "booksDone"),
        ));
    };
    let Some(done) = v.get("done").and_then(|x| x.as_bool()) else {
        return Err(mismatch("status done", "true or false", field(&v, "done")));
    };
    if done && books_done != job.books as u64 {
        return Err(mismatch(
            "status booksDone when done",
            job.books,
            books_done,
        ));
    }
    Ok((books_done, done))
}

pub(super) async fn ok(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    status_of(ctx, &job).await.map(drop)
}

pub(super) async fn done(ctx: &Context) -> Checked {
    let job = finished(ctx).await?;
    match status_of(ctx, &job).await? {
        (_, true) => Ok(()),
        (n, false) => Err(mismatch(
            "status after complete",
            "done: true",
            format!("done: false, booksDone {n}"),
        )),
    }
}

pub(super) async fn bad_request(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let queries = [
        ("status without jobId", format!("token={}", job.token)),
        (
            "status with jobId \"bad.id\"",
            format!("jobId=bad.id&token={}", job.token),
        ),
    ];
    for (what, query) in queries {
        send(ctx, status_req(&query)).await?.expect(what, 400)?;
    }
    Ok(())
}

pub(super) async fn unauthorized(ctx: &Context) -> Checked {
    let job = posted(ctx).await?;
    let random = format!("{:032x}", rand::random::<u128>());
    let queries = [
        ("status without a token", format!("jobId={}", job.id)),
        ("status with a random token", job.query_with(&random)),
    ];
    for (what, query) in queries {
        send(ctx, status_req(&query)).await?.expect(what, 401)?;
    }
    Ok(())
}
