//! The client's plain requests to the edge: the batch POST and the status poll, each on a
//! fresh connection under `client.request_timeout_ms`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

use super::Session;
use crate::record::Outcome;
use crate::task;
use crate::wire::api::{self, BatchAccepted, BatchRequest};
use crate::wire::collect_body;

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

    /// One request on a fresh connection to the edge, given up after
    /// `client.request_timeout_ms`: the status and the body.
    async fn request(
        &self,
        method: Method,
        uri: &str,
        body: Full<Bytes>,
    ) -> Result<(StatusCode, Bytes), ()> {
        let timeout = Duration::from_millis(self.scenario.client.request_timeout_ms);
        tokio::time::timeout(timeout, self.request_once(method, uri, body))
            .await
            .map_err(|_| ())?
    }

    async fn request_once(
        &self,
        method: Method,
        uri: &str,
        body: Full<Bytes>,
    ) -> Result<(StatusCode, Bytes), ()> {
        let io = self.connect.connect().await.map_err(|_| ())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|_| ())?;
        task::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(hyper::header::HOST, self.connect.authority())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|_| ())?;
        let resp = sender.send_request(req).await.map_err(|_| ())?;
        let status = resp.status();
        let body = collect_body(resp.into_body()).await.map_err(|_| ())?;
        Ok((status, body))
    }

    pub(super) async fn post_batch(
        &self,
        job_id: &str,
        books: u32,
    ) -> Result<BatchAccepted, Outcome> {
        let body = serde_json::to_vec(&BatchRequest {
            job_id: job_id.to_string(),
            books,
        })
        .expect("plain struct serialises");
        let (status, body) = self
            .request(Method::POST, api::BATCH_PATH, Full::new(Bytes::from(body)))
            .await
            .map_err(|_| Outcome::NetworkError)?;
        if status.is_server_error() {
            return Err(Outcome::ServerError);
        }
        if status != StatusCode::ACCEPTED {
            return Err(Outcome::Rejected);
        }
        let accepted: BatchAccepted =
            serde_json::from_slice(&body).map_err(|_| Outcome::Rejected)?;
        // The server's answer is input: a job id or token that cannot go into the progress
        // URL as it is makes the 202 unusable, like a body that is not JSON.
        if !api::valid_job_id(&accepted.job_id) || !api::usable_token(&accepted.token) {
            tracing::warn!(
                job_id = job_id,
                "the 202's jobId or token cannot go into a URL; the job is rejected"
            );
            return Err(Outcome::Rejected);
        }
        Ok(accepted)
    }
}
