//! Token refresh: a repeated POST for a job answers `202` with a fresh token; the replaced
//! token is refused (`401`), the fresh one accepted (`101`).

use super::context::Context;
use super::finding::{mismatch, setup, Checked};
use super::http::{send, Req};
use super::job::{accepted, post, posted, posted_as, Job};
use super::upgrade::open;

/// A job posted twice: (the first acceptance, the second), both set-up steps.
async fn refreshed(ctx: &Context) -> Result<(Job, Job), super::finding::Finding> {
    let first = posted(ctx).await?;
    let second = posted_as(ctx, &first.id).await?;
    if second.token == first.token {
        return Err(setup(same_token()));
    }
    Ok((first, second))
}

pub(super) async fn new_token(ctx: &Context) -> Checked {
    let first = posted(ctx).await?;
    let answer = post(ctx, &first.id).await?;
    let second = accepted(&answer, &first.id, ctx.settings.books)?;
    if second.token == first.token {
        return Err(same_token());
    }
    Ok(())
}

pub(super) async fn old_token_refused(ctx: &Context) -> Checked {
    let (first, _second) = refreshed(ctx).await?;
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    send(ctx, Req::upgrade(&first.query(), &key))
        .await?
        .expect("upgrade with the replaced token", 401)
}

pub(super) async fn new_token_accepted(ctx: &Context) -> Checked {
    let (_first, second) = refreshed(ctx).await?;
    open(ctx, &second.query(), "upgrade with the fresh token")
        .await
        .map(drop)
}

fn same_token() -> super::finding::Finding {
    mismatch(
        "the second POST's token",
        "a token other than the first",
        "the same token",
    )
}
