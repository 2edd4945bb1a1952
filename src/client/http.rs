//! The client's plain requests to the edge: the batch POST and the status poll, each on a
//! fresh connection under `client.request_timeout_ms`.

use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Body as _;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

use super::Session;
use crate::record::{Outcome, Violation};
use crate::task;
use crate::wire::api::{self, BatchAccepted, BatchRequest, SessionAccepted, SessionRequest};

/// Most bytes of an answer's head the client reads (an endless header is cut there), as
/// `serve` bounds a request's head.
const HEAD_BYTES_MAX: usize = 64 * 1024;

/// A request that got no usable answer: `None` when none came (the connection failed, closed
/// early or timed out), or what was wrong with the one that came.
type NoAnswer = Option<Violation>;

impl Session {
    /// One `GET /api/enrichment/status`; `Err` carries the status (0: no answer).
    pub(super) async fn poll(&self, accepted: &BatchAccepted) -> Result<api::Status, u16> {
        let uri = format!(
            "{}?jobId={}&token={}",
            api::STATUS_PATH,
            accepted.job_id,
            accepted.token
        );
        let (status, body) = self
            .request(Method::GET, &uri, Full::new(Bytes::new()))
            .await
            .map_err(|_| 0u16)?;
        if status != StatusCode::OK {
            return Err(status.as_u16());
        }
        serde_json::from_slice(&body).map_err(|_| 0u16)
    }

    /// The session POST (`[session]`): the 202's session id and token, or how it ends.
    pub(super) async fn post_session(
        &self,
        session_id: &str,
    ) -> Result<SessionAccepted, (Outcome, NoAnswer)> {
        let body = serde_json::to_vec(&SessionRequest {
            session_id: session_id.to_string(),
        })
        .expect("plain struct serialises");
        let body = self.post_for_202(api::SESSION_PATH, body).await?;
        let bad_202 = (Outcome::Rejected, Some(Violation::Bad202));
        let accepted: SessionAccepted = serde_json::from_slice(&body).map_err(|_| bad_202)?;
        if accepted.session_id != session_id || !api::usable_token(&accepted.token) {
            return Err(bad_202);
        }
        Ok(accepted)
    }

    /// A POST whose answer must be a 202: its body, or how the request ends.
    async fn post_for_202(&self, path: &str, body: Vec<u8>) -> Result<Bytes, (Outcome, NoAnswer)> {
        let (status, body) = self
            .request(Method::POST, path, Full::new(Bytes::from(body)))
            .await
            .map_err(|why| match why {
                None => (Outcome::NetworkError, None),
                Some(v) => (Outcome::Rejected, Some(v)),
            })?;
        if status.is_server_error() {
            return Err((Outcome::ServerError, None));
        }
        if status != StatusCode::ACCEPTED {
            return Err((Outcome::Rejected, None));
        }
        Ok(body)
    }

    /// One request on a fresh connection to the edge, given up after
    /// `client.request_timeout_ms`: the status and the body.
    async fn request(
        &self,
        method: Method,
        uri: &str,
        body: Full<Bytes>,
    ) -> Result<(StatusCode, Bytes), NoAnswer> {
        let timeout = Duration::from_millis(self.scenario.client.request_timeout_ms);
        tokio::time::timeout(timeout, self.request_once(method, uri, body))
            .await
            .map_err(|_| None)?
    }

    async fn request_once(
        &self,
        method: Method,
        uri: &str,
        body: Full<Bytes>,
    ) -> Result<(StatusCode, Bytes), NoAnswer> {
        let io = self.connect.connect().await.map_err(|_| None)?;
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(HEAD_BYTES_MAX)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|_| None)?;
        // Not an `async` block, which would hold the connection twice.
        task::spawn(conn.map(drop));
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(hyper::header::HOST, self.connect.authority())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|_| None)?;
        let resp = sender.send_request(req).await.map_err(|e| {
            // A head too large or not HTTP is an answer, and a wrong one; anything else
            // (closed, reset) is none.
            if e.is_parse_too_large() {
                Some(Violation::HeadTooLarge)
            } else {
                e.is_parse().then_some(Violation::HeadMalformed)
            }
        })?;
        let status = resp.status();
        // A body announced over the bound is refused before a byte of it is read.
        if resp.body().size_hint().lower() > api::BODY_BYTES_MAX as u64 {
            return Err(Some(Violation::BodyTooLarge));
        }
        match Limited::new(resp.into_body(), api::BODY_BYTES_MAX)
            .collect()
            .await
        {
            Ok(body) => Ok((status, body.to_bytes())),
            Err(e) if e.is::<LengthLimitError>() => Err(Some(Violation::BodyTooLarge)),
            Err(_) => Err(None),
        }
    }

    /// The batch POST: the 202's job id and token, or how the job ends (and what the server
    /// did wrong, when it answered something unusable: such a job is `rejected`, since the
    /// same request would get the same answer).
    pub(super) async fn post_batch(
        &self,
        job_id: &str,
        books: u32,
        session: Option<(&str, &str)>,
    ) -> Result<BatchAccepted, (Outcome, NoAnswer)> {
        let body = serde_json::to_vec(&BatchRequest {
            job_id: job_id.to_string(),
            books,
            session_id: session.map(|(id, _)| id.to_string()),
            session_token: session.map(|(_, token)| token.to_string()),
        })
        .expect("plain struct serialises");
        let body = self.post_for_202(api::BATCH_PATH, body).await?;
        let bad_202 = (Outcome::Rejected, Some(Violation::Bad202));
        let accepted: BatchAccepted = serde_json::from_slice(&body).map_err(|_| bad_202)?;
        // The server's answer is input: a job id or token that cannot go into the progress
        // URL as it is makes the 202 unusable, like a body that is not JSON.
        if !api::valid_job_id(&accepted.job_id) || !api::usable_token(&accepted.token) {
            tracing::warn!(
                job_id = job_id,
                "the 202's jobId or token cannot go into a URL; the job is rejected"
            );
            return Err(bad_202);
        }
        // The 202 echoes the job posted (docs/api.md): one for another job is not this job's.
        if accepted.job_id != job_id {
            tracing::warn!(
                job_id = job_id,
                answered = accepted.job_id.as_str(),
                "the 202 names another job; the job is rejected"
            );
            return Err(bad_202);
        }
        Ok(accepted)
    }
}
