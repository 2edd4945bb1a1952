//! The simulated system's HTTP API and WebSocket messages (documented in docs/api.md).

use serde::{Deserialize, Serialize};

use crate::fnv::Fnv1a;

pub const BATCH_PATH: &str = "/api/enrichment/batch";
pub const PROGRESS_PATH: &str = "/ws/progress";
pub const STATUS_PATH: &str = "/api/enrichment/status";
/// `POST`: an app session and its token (`[session]`).
pub const SESSION_PATH: &str = "/api/session";
/// The session's one socket, carrying every job's progress.
pub const SESSION_SOCKET_PATH: &str = "/ws/session";
/// Most jobs one app session takes (and a session socket's `after` may name).
pub const SESSION_JOBS_MAX: usize = 1_000;
/// Most books of all of one app session's jobs: what one socket's replay may carry.
pub const SESSION_BOOKS_MAX: u64 = 100_000;
/// Longest accepted `jobId`.
pub const JOB_ID_LEN_MAX: usize = 64;
/// Largest accepted request body, in bytes.
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// `POST /api/enrichment/batch` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchRequest {
    pub job_id: String,
    pub books: u32,
    /// The app session whose socket carries the job's progress (`POST /api/session` made it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The session's token, which `session_id` needs: only the app that holds it adds jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

/// `POST /api/session` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionRequest {
    pub session_id: String,
}

/// `202 Accepted` body of the session POST: the token of the session's socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAccepted {
    pub session_id: String,
    pub token: String,
    pub expires_at_ms: u64,
}

/// `202 Accepted` body of the batch POST.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAccepted {
    pub job_id: String,
    pub token: String,
    pub expires_at_ms: u64,
}

/// `200 OK` body of the status poll: books `1..=books_done` have their results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub job_id: String,
    pub books_done: u32,
    pub books: u32,
    pub done: bool,
}

/// Messages the object pushes on the progress socket (JSON text frames).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerMsg {
    /// Sent right after the accept.
    #[serde(rename_all = "camelCase")]
    Ready {
        job_id: String,
        books_done: u32,
        books: u32,
    },
    /// One per enriched book; `seq` counts from 1. `jobId` only on a session's socket.
    #[serde(rename_all = "camelCase")]
    Progress {
        seq: u32,
        books: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
    },
    /// The job finished; the client may close (on a session's socket: when every job it
    /// waits for has). `jobId` only on a session's socket.
    #[serde(rename_all = "camelCase")]
    Complete {
        books: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
    },
}

/// Written as the derived form was before sessions (a job's socket's messages have no job
/// id), so the timelines `replay` prints keep their bytes.
impl std::fmt::Debug for ServerMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let with_job = |d: &mut std::fmt::DebugStruct<'_, '_>, job_id: &Option<String>| {
            if let Some(id) = job_id {
                d.field("job_id", id);
            }
        };
        match self {
            ServerMsg::Ready {
                job_id,
                books_done,
                books,
            } => f
                .debug_struct("Ready")
                .field("job_id", job_id)
                .field("books_done", books_done)
                .field("books", books)
                .finish(),
            ServerMsg::Progress { seq, books, job_id } => {
                let mut d = f.debug_struct("Progress");
                d.field("seq", seq).field("books", books);
                with_job(&mut d, job_id);
                d.finish()
            }
            ServerMsg::Complete { books, job_id } => {
                let mut d = f.debug_struct("Complete");
                d.field("books", books);
                with_job(&mut d, job_id);
                d.finish()
            }
        }
    }
}

/// A well-formed job id: 1..=64 of `[A-Za-z0-9_-]`.
pub fn valid_job_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= JOB_ID_LEN_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Most bytes of a token a client accepts from a 202.
pub const TOKEN_LEN_MAX: usize = 1024;

/// A token that goes into a query string as it is: 1..=1024 URL-unreserved characters
/// (RFC 3986: letters, digits, `-`, `.`, `_`, `~`), which covers hex, UUIDs and base64url.
/// `serve` issues 32 hex digits; a client (and `conform`) accepts any such token.
pub fn usable_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= TOKEN_LEN_MAX
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The id the simulated client uses for job `n`.
pub fn job_id(n: u64) -> String {
    format!("job-{n}")
}

/// The id the simulated client uses for the app session whose first job is `n`.
pub fn session_id(n: u64) -> String {
    format!("session-{n}")
}

/// A `Sec-WebSocket-Key` that is 16 bytes in base64 (RFC 6455 4.2.1): 22 characters of the
/// alphabet, the last one carrying no bits past the 16th byte, then `==`.
pub fn valid_ws_key(key: &[u8]) -> bool {
    let b64 = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    key.len() == 24
        && key[..22].iter().all(b64)
        && b"AQgw".contains(&key[21])
        && &key[22..] == b"=="
}

/// Whether a `Connection` header value lists the `upgrade` token.
pub fn connection_upgrade(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
}

/// The number keying a job's random draws: `n` for `job-n` written as the fleet writes it
/// (decimal, no sign, no leading zero), else a stable FNV-1a hash with the top bit set (so it
/// never collides with a simulated job): `job-05` is not `job-5`.
/// `session-n` keys as its first job `n` does (the session's object and socket draw as that
/// job's would, so a session's handshake meets the draws of its first job's).
pub fn job_key(id: &str) -> u64 {
    for prefix in ["job-", "session-"] {
        if let Some(digits) = id.strip_prefix(prefix) {
            if let Ok(n) = digits.parse::<u64>() {
                if n < 1 << 63 && digits == n.to_string() {
                    return n;
                }
            }
        }
    }
    let mut h = Fnv1a::new();
    h.write(id.as_bytes());
    h.finish() | 1 << 63
}

/// A session socket's `after`: `jobId:seq` pairs joined by commas (`job-1:3,job-2:0`), the
/// progress the app has of each job; a job it does not name is replayed from its start.
pub fn parse_session_after(
    value: &str,
) -> Result<std::collections::BTreeMap<String, u32>, &'static str> {
    let mut out = std::collections::BTreeMap::new();
    for pair in value.split(',').filter(|p| !p.is_empty()) {
        let (job, seq) = pair.split_once(':').ok_or("malformed after")?;
        let seq = seq.parse::<u32>().map_err(|_| "malformed after")?;
        if !valid_job_id(job) || out.insert(job.to_string(), seq).is_some() {
            return Err("malformed after");
        }
        if out.len() > SESSION_JOBS_MAX {
            return Err("after names too many jobs");
        }
    }
    Ok(out)
}

/// A query key given more than once: ambiguous, so malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

/// The `jobId` (well formed, once) and the `token` (empty when absent, at most once) of a
/// query, or why it gets a 400.
pub fn job_and_token(query: Option<&str>) -> Result<(String, String), &'static str> {
    id_and_token(query, "jobId", "missing or malformed jobId")
}

/// The `sessionId` and the `token` of a session socket's query, as [`job_and_token`].
pub fn session_and_token(query: Option<&str>) -> Result<(String, String), &'static str> {
    id_and_token(query, "sessionId", "missing or malformed sessionId")
}

/// The id named `name` (well formed, once; else `malformed`) and the `token` of a query.
fn id_and_token(
    query: Option<&str>,
    name: &str,
    malformed: &'static str,
) -> Result<(String, String), &'static str> {
    let id = match query_param(query, name) {
        Ok(Some(id)) if valid_job_id(id) => id.to_string(),
        _ => return Err(malformed),
    };
    let token = match query_param(query, "token") {
        Ok(t) => t.unwrap_or("").to_string(),
        Err(Repeated) => return Err("token given twice"),
    };
    Ok((id, token))
}

/// The value of `name` in a query string, if present once (a repeated key is malformed).
pub fn query_param<'a>(query: Option<&'a str>, name: &str) -> Result<Option<&'a str>, Repeated> {
    let mut found = None;
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == name {
            if found.is_some() {
                return Err(Repeated);
            }
            found = Some(v);
        }
    }
    Ok(found)
}
