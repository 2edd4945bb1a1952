//! Hostile input, property-tested. Scenario text and `--set` overrides either load or fail
//! with a located error, never a panic. Mutated upgrade requests each get the status the
//! documented order of checks gives (`route`, then `upgrade` in src/server/object.rs), and a
//! 101 only with the job's current token on an otherwise well-formed request.
//!
//! `PROPTEST_CASES=N cargo test --test it hostile` runs N cases of each property.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::rc::Rc;
use std::sync::Once;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use handshake_sim::internal::client::Connect;
use handshake_sim::internal::scenario::{parse_override, Scenario};
use handshake_sim::internal::server::variant;
use handshake_sim::internal::sim;
use handshake_sim::internal::wire::api::{BatchAccepted, ServerMsg};
use http_body_util::{BodyExt, Full};
use hyper::header::SEC_WEBSOCKET_ACCEPT;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// `PROPTEST_CASES` when set (as `ProptestConfig::default()` would read it), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

thread_local! {
    /// Panics on this thread so far, caught or not (a panicking simulated task is swallowed
    /// by its runtime; the panic hook still sees it).
    static PANICS: Cell<u64> = const { Cell::new(0) };
}

/// Panics on this thread so far; installs the counting hook (chained to the previous one).
fn panics() -> u64 {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
    PANICS.with(Cell::get)
}

// ---------------------------------------------------------------------------------------
// 1. Scenario loading.

/// Values a hostile or careless user puts where a number belongs.
const HOSTILE: &[&str] = &[
    "-1",
    "1e400",
    "-1e400",
    "1e-400",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "18446744073709551616",
    "18446744073709551615",
    "-9223372036854775809",
    "4294967296",
    "9999999999999",
    "1e308",
    "0x10",
    "0o7",
    "1_000",
    "+1",
    "01",
    "0.5",
    "-0.0",
    "0",
    "1",
    "\"x\"",
    "\"\"",
    "'",
    "\"",
    "true",
    "[]",
    "[1, 2, 3]",
    "[[1]]",
    "{}",
    "{ constant = -1 }",
    "{ constant = nan }",
    "{ uniform = [5, 1] }",
    "{ uniform = [1] }",
    "{ uniform = [1, 2, 3] }",
    "{ normal = { mean = 1, sd = -1 } }",
    "{ normal = { mean = 1e308, sd = 1e308 } }",
    "{ lognormal = { median = 0, p99 = 1 } }",
    "{ lognormal = { median = 1, p99 = inf } }",
    "{ empirical = [] }",
    "{ empirical = [1, -1] }",
    "{ constant = 1, uniform = [1, 2] }",
    "{ bogus = 1 }",
    "1979-05-27T07:32:00Z",
    "",
    "=",
    "a=b",
    "kv",
    "sqlite",
    "parallel",
    "[\"parallel\", \"parallel\"]",
    "[\"nope\"]",
    "\"client_edge\"",
    "\"nowhere\"",
    // The limits, and one past each.
    "1000000",
    "1000001",
    "20000",
    "20001",
    "10000",
    "10001",
    "100",
    "101",
    "1000",
    "1001",
    "3600000",
    "3600000.5",
    "604800",
    "604801",
    "604800000",
    "604800001",
    "64",
    "65",
    "256",
    "257",
    "1.0000001",
];

/// Real dotted keys, and a few that are not.
const KEYS: &[&str] = &[
    "client.retries",
    "client.backoff_jitter",
    "client.handshake_timeout_ms",
    "client.books_per_job",
    "faults.client_edge_loss",
    "faults.job_partitions.0.probability",
    "faults.job_partitions.0.after_ms",
    "faults.job_partitions.0.link",
    "faults.job_partitions.99.probability",
    "faults.object_crash.after_ms",
    "faults.object_crash.after_ms.uniform.1",
    "faults.partition_windows.0.start_ms",
    "faults.partition_windows.0.start_ms.x",
    "faults.partition_windows",
    "faults.token_expiry",
    "faults.storage.spike_ms.lognormal.p99",
    "scenario.jobs",
    "scenario.concurrency",
    "scenario.variants",
    "scenario.variants.0",
    "scenario.tick_ms",
    "scenario.duration_s_max",
    "scenario",
    "storage.read_ms",
    "storage.read_ms.uniform.1",
    "storage.read_ms.uniform.7",
    "storage.backend",
    "slo.avg_upgrade_ms.warning",
    "slo.apply_to.0",
    "expect.\"parallel.faults\"",
    "expect.\"parallel.nope\"",
    "expect",
    "nope",
    "client.nope",
    "client.retries.0",
    "",
    ".",
    "client..retries",
    "\"client.retries\"",
    " client.retries ",
];

/// The scenario the structured mutations start from.
/// One count of the run's job records, summed over its jobs.
fn sum_of(world: &sim::World<'_>, count: impl Fn(&handshake_sim::JobRecord) -> u32) -> u32 {
    world
        .recorder
        .borrow()
        .clone_records()
        .iter()
        .map(count)
        .sum()
}

fn faults_toml() -> String {
    std::fs::read_to_string(crate::root().join("sims/faults.toml")).unwrap()
}

/// A value for a mutation: a hostile one, any integer or float as Rust prints it, or junk.
fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(HOSTILE).prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => (0u32..5_000_000).prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|x| format!("{x:?}")),
        1 => "[ -~]{0,12}",
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    /// Replaces the n-th numeric literal outside comments.
    Number(Index, String),
    /// Replaces the whole value of the n-th `key = value` line.
    Value(Index, String),
    DeleteLine(Index),
    DuplicateLine(Index),
    /// Moves a line elsewhere (a key out of its table, a table header away from its keys).
    MoveLine(Index, Index),
    /// Cuts the text at a byte (moved back to a char boundary).
    Truncate(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), hostile_value()).prop_map(|(i, v)| Edit::Number(i, v)),
        2 => (any::<Index>(), hostile_value()).prop_map(|(i, v)| Edit::Value(i, v)),
        1 => any::<Index>().prop_map(Edit::DeleteLine),
        1 => any::<Index>().prop_map(Edit::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::MoveLine(a, b)),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

/// Byte ranges of the numeric literals of `text` outside comments: a digit not inside a word,
/// and the digits, dots and underscores after it.
fn numbers(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut comment = false;
    while i < b.len() {
        match b[i] {
            b'#' => comment = true,
            b'\n' => comment = false,
            _ => {}
        }
        let starts = !comment
            && b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.' || b[j] == b'_') {
            j += 1;
        }
        out.push(i..j);
        i = j;
    }
    out
}

fn apply(text: &mut String, e: &Edit) {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    match e {
        Edit::Number(i, v) => {
            let found = numbers(text);
            if !found.is_empty() {
                text.replace_range(found[i.index(found.len())].clone(), v);
            }
            return;
        }
        Edit::Value(i, v) => {
            let values: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.starts_with('#') && l.contains(" = "))
                .map(|(n, _)| n)
                .collect();
            if values.is_empty() {
                return;
            }
            let n = values[i.index(values.len())];
            let (key, _) = lines[n].split_once(" = ").expect("filtered");
            lines[n] = format!("{key} = {v}\n");
        }
        Edit::Truncate(i) => {
            let mut at = i.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
            return;
        }
        _ if lines.is_empty() => return,
        Edit::DeleteLine(i) => {
            lines.remove(i.index(lines.len()));
        }
        Edit::DuplicateLine(i) => {
            let n = i.index(lines.len());
            let line = lines[n].clone();
            lines.insert(n, line);
        }
        Edit::MoveLine(from, to) => {
            let line = lines.remove(from.index(lines.len()));
            lines.insert(to.index(lines.len() + 1), line);
        }
    }
    *text = lines.concat();
    if !text.is_empty() && !text.ends_with('\n') {
        // A moved last line keeps its own line.
        text.push('\n');
    }
}

/// What the loader is given.
#[derive(Debug, Clone)]
enum Input {
    /// Arbitrary bytes, read as a lossy UTF-8 file would be.
    Bytes(Vec<u8>),
    /// Arbitrary text.
    Text(String),
    /// Text made of TOML's punctuation, keys and numbers: gets further into the parser.
    TomlSoup(String),
    /// `sims/faults.toml` with edits.
    Mutated(Vec<Edit>),
}

impl Input {
    fn text(&self, faults: &str) -> String {
        match self {
            Input::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Input::Text(t) | Input::TomlSoup(t) => t.clone(),
            Input::Mutated(edits) => {
                let mut text = faults.to_string();
                for e in edits {
                    apply(&mut text, e);
                }
                text
            }
        }
    }
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => vec(any::<u8>(), 0..512).prop_map(Input::Bytes),
        1 => any::<String>().prop_map(Input::Text),
        1 => "([\\[\\]{}=\"'., #\n_a-z0-9-]|scenario|jobs|faults|uniform|storage|read_ms){0,80}"
            .prop_map(Input::TomlSoup),
        4 => vec(edit(), 1..5).prop_map(Input::Mutated),
    ]
}

/// One `--set KEY=VALUE` argument.
fn set_arg() -> impl Strategy<Value = String> {
    (select(KEYS), hostile_value()).prop_map(|(k, v)| format!("{k}={v}"))
}

/// Loads `text` with `sets`; an error must be located and say something.
fn load(text: &str, sets: &[String]) -> Result<(), TestCaseError> {
    // A `--set` that does not parse is refused before any loading; the others are applied.
    let mut overrides = Vec::new();
    for s in sets {
        match parse_override(s) {
            Ok(o) => overrides.push(o),
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("--set"), "--set {s:?}: error {msg:?}");
            }
        }
    }
    if let Err(e) = Scenario::from_toml_str("<fuzz>", text, &overrides) {
        let msg = e.to_string();
        prop_assert!(
            msg.starts_with("<fuzz>") || msg.starts_with("--set"),
            "error without its place: {msg:?}"
        );
        let said = msg
            .trim_start_matches("<fuzz>")
            .trim_start_matches("--set")
            .trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
        prop_assert!(!said.trim().is_empty(), "empty error: {msg:?}");
    }
    Ok(())
}

#[test]
fn the_mutations_reach_the_numbers_of_the_scenario() {
    let text = faults_toml();
    let found: Vec<&str> = numbers(&text).into_iter().map(|r| &text[r]).collect();
    for n in ["400", "50", "0.002", "3000", "1500", "0.08", "243", "60000"] {
        assert!(found.contains(&n), "{n} not found in {found:?}");
    }
    // Comments are left alone.
    assert!(!found.contains(&"407"), "{found:?}");
    assert!(!found.contains(&"364"), "{found:?}");
    Scenario::from_toml_str("<fuzz>", &text, &[]).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1024), ..ProptestConfig::default() })]

    #[test]
    fn scenario_loading_never_panics(
        input in input(),
        sets in prop_oneof![2 => Just(Vec::new()), 1 => vec(set_arg(), 1..4)],
    ) {
        let text = input.text(&faults_toml());
        load(&text, &sets)?;
        // The same overrides on the pristine scenario: only the override can be wrong.
        if !sets.is_empty() {
            load(&faults_toml(), &sets)?;
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. Upgrade requests.

const JOBS: [&str; 2] = ["job-1", "job-2"];
const PROGRESS: &str = "/ws/progress";

/// The tokens the test got from the batch POSTs.
#[derive(Debug, Clone)]
struct Tokens {
    /// The current token of job-1 and of job-2.
    current: [String; 2],
    /// job-1's first token, replaced by its second POST.
    replaced: String,
}

impl Tokens {
    fn current_of(&self, job_id: &str) -> Option<&str> {
        JOBS.iter()
            .position(|j| *j == job_id)
            .map(|i| self.current[i].as_str())
    }
}

#[derive(Debug, Clone)]
enum JobId {
    /// The request's own job.
    Own,
    Missing,
    /// `jobId` with no `=`.
    Bare,
    /// The own job id, twice.
    Twice,
    Raw(String),
}

#[derive(Debug, Clone)]
enum Token {
    /// The own job's current token.
    Current,
    OtherJob,
    /// job-1's first token, replaced by its second POST.
    Replaced,
    Missing,
    /// `token=`.
    Empty,
    /// `token` with no `=`.
    Bare,
    /// The current token, twice.
    Twice,
    /// The current token less its last character.
    Truncated,
    /// The current token in upper case.
    Upper,
    /// The current token with a character after it.
    Extended,
    Raw(String),
}

/// One upgrade request, as the test means it.
#[derive(Debug, Clone)]
struct Attempt {
    /// Index into [`JOBS`]: the request's own job.
    job: usize,
    method: &'static str,
    path: &'static str,
    upgrade: Option<&'static str>,
    connection: bool,
    key: Option<String>,
    version: Option<&'static str>,
    job_id: JobId,
    token: Token,
    after: Option<String>,
    after_twice: bool,
    /// Query parameters in reverse order.
    reversed: bool,
    /// Empty pairs and an unknown parameter in the query.
    junk: bool,
}

/// One change to a well-formed request.
#[derive(Debug, Clone)]
enum Mutation {
    Method(&'static str),
    Path(&'static str),
    Upgrade(Option<&'static str>),
    DropConnection,
    Key(Option<String>),
    Version(Option<&'static str>),
    JobId(JobId),
    Token(Token),
    After(String),
    AfterTwice,
    Reverse,
    Junk,
}

impl Attempt {
    fn well_formed(job: usize, key: String) -> Self {
        Attempt {
            job,
            method: "GET",
            path: PROGRESS,
            upgrade: Some("websocket"),
            connection: true,
            key: Some(key),
            version: Some("13"),
            job_id: JobId::Own,
            token: Token::Current,
            after: None,
            after_twice: false,
            reversed: false,
            junk: false,
        }
    }

    fn mutate(&mut self, m: Mutation) {
        match m {
            Mutation::Method(x) => self.method = x,
            Mutation::Path(x) => self.path = x,
            Mutation::Upgrade(x) => self.upgrade = x,
            Mutation::DropConnection => self.connection = false,
            Mutation::Key(x) => self.key = x,
            Mutation::Version(x) => self.version = x,
            Mutation::JobId(x) => self.job_id = x,
            Mutation::Token(x) => self.token = x,
            Mutation::After(x) => self.after = Some(x),
            Mutation::AfterTwice => self.after_twice = true,
            Mutation::Reverse => self.reversed = true,
            Mutation::Junk => self.junk = true,
        }
    }

    fn job_id_value(&self) -> Option<&str> {
        match &self.job_id {
            JobId::Own | JobId::Twice => Some(JOBS[self.job]),
            JobId::Missing => None,
            JobId::Bare => Some(""),
            JobId::Raw(s) => Some(s),
        }
    }

    /// The token as presented (`None`: no `token` parameter).
    fn token_value(&self, t: &Tokens) -> Option<String> {
        let own = &t.current[self.job];
        Some(match &self.token {
            Token::Current | Token::Twice => own.clone(),
            Token::OtherJob => t.current[1 - self.job].clone(),
            Token::Replaced => t.replaced.clone(),
            Token::Missing => return None,
            Token::Empty | Token::Bare => String::new(),
            Token::Truncated => own[..own.len() - 1].to_string(),
            Token::Upper => own.to_uppercase(),
            Token::Extended => format!("{own}0"),
            Token::Raw(s) => s.clone(),
        })
    }

    fn query(&self, t: &Tokens) -> String {
        let mut params = Vec::new();
        match &self.job_id {
            JobId::Missing => {}
            JobId::Bare => params.push("jobId".to_string()),
            JobId::Twice => {
                params.push(format!("jobId={}", JOBS[self.job]));
                params.push(format!("jobId={}", JOBS[self.job]));
            }
            JobId::Own | JobId::Raw(_) => {
                params.push(format!("jobId={}", self.job_id_value().unwrap()))
            }
        }
        match (&self.token, self.token_value(t)) {
            (_, None) => {}
            (Token::Bare, _) => params.push("token".to_string()),
            (Token::Twice, Some(v)) => {
                params.push(format!("token={v}"));
                params.push(format!("token={v}"));
            }
            (_, Some(v)) => params.push(format!("token={v}")),
        }
        if let Some(a) = &self.after {
            params.push(format!("after={a}"));
            if self.after_twice {
                params.push(format!("after={a}"));
            }
        } else if self.after_twice {
            params.push("after=0".to_string());
            params.push("after=0".to_string());
        }
        if self.junk {
            params.push(String::new());
            params.push("x=1".to_string());
            params.push("=".to_string());
        }
        if self.reversed {
            params.reverse();
        }
        if params.is_empty() {
            String::new()
        } else {
            format!("?{}", params.join("&"))
        }
    }

    /// The request, or `None` where hyper refuses to build it.
    fn request(&self, t: &Tokens) -> Option<Request<Full<Bytes>>> {
        let mut b = Request::builder()
            .method(self.method)
            .uri(format!("{}{}", self.path, self.query(t)))
            .header("host", "worker");
        if let Some(u) = self.upgrade {
            b = b.header("upgrade", u);
        }
        if self.connection {
            b = b.header("connection", "Upgrade");
        }
        if let Some(k) = &self.key {
            b = b.header("sec-websocket-key", k.as_str());
        }
        if let Some(v) = self.version {
            b = b.header("sec-websocket-version", v);
        }
        b.body(Full::new(Bytes::new())).ok()
    }

    /// The status the documented order of checks gives.
    fn expected(&self, t: &Tokens) -> StatusCode {
        // `route`: unknown paths, then methods.
        if self.path != PROGRESS {
            return StatusCode::NOT_FOUND;
        }
        if self.method != "GET" {
            return StatusCode::METHOD_NOT_ALLOWED;
        }
        // `upgrade`, in order.
        if !self
            .upgrade
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
        {
            return StatusCode::UPGRADE_REQUIRED;
        }
        let job_id = match (&self.job_id, self.job_id_value()) {
            (JobId::Twice, _) | (_, None) => return StatusCode::BAD_REQUEST,
            (_, Some(id)) if !job_id_is_well_formed(id) => return StatusCode::BAD_REQUEST,
            (_, Some(id)) => id,
        };
        if matches!(self.token, Token::Twice) {
            return StatusCode::BAD_REQUEST;
        }
        if self.after_twice
            || self
                .after
                .as_ref()
                .is_some_and(|a| a.parse::<u32>().is_err())
        {
            return StatusCode::BAD_REQUEST;
        }
        if !self.connection || !self.key.as_deref().is_some_and(key_is_well_formed) {
            return StatusCode::BAD_REQUEST;
        }
        if self.version != Some("13") {
            return StatusCode::UPGRADE_REQUIRED;
        }
        match (self.token_value(t), t.current_of(job_id)) {
            (Some(p), Some(current)) if !p.is_empty() && p == current => {
                StatusCode::SWITCHING_PROTOCOLS
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// README: 1–64 of `[A-Za-z0-9_-]` (the query is not percent-decoded).
fn job_id_is_well_formed(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 6455 4.2.1: the key is 16 bytes in base64.
fn key_is_well_formed(key: &str) -> bool {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digit = |c: u8| ALPHABET.bytes().position(|a| a == c);
    let b = key.as_bytes();
    b.len() == 24
        && b[..22].iter().all(|&c| digit(c).is_some())
        && digit(b[21]).is_some_and(|d| d & 0b1111 == 0)
        && &b[22..] == b"=="
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn valid_key() -> impl Strategy<Value = String> {
    any::<[u8; 16]>().prop_map(|b| base64(&b))
}

fn key_mutation() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        valid_key().prop_map(Some),
        // Oversized: 10 KB.
        Just(Some(format!("{}==", "A".repeat(10 * 1024 - 2)))),
        // Base64 of another length than 16 bytes.
        (0usize..40)
            .prop_filter("not 16 bytes", |n| *n != 16)
            .prop_flat_map(|n| vec(any::<u8>(), n))
            .prop_map(|b| Some(base64(&b))),
        // Without its padding, or with it replaced.
        valid_key().prop_map(|k| Some(k.trim_end_matches('=').to_string())),
        valid_key().prop_map(|k| Some(format!("{}AA", &k[..22]))),
        // Not base64, with and without the right shape.
        "[!-*,-.:-@\\[-`{-~]{22}==".prop_map(Some),
        "[!-~]{0,40}".prop_map(Some),
        Just(Some("ключ ключ ключ==".to_string())),
        // Bytes hyper refuses in a header: the attempt is skipped.
        Just(Some("dGhlIHNhbXBsZSBub25j\r\n==".to_string())),
    ]
}

fn job_id_mutation() -> impl Strategy<Value = JobId> {
    prop_oneof![
        Just(JobId::Missing),
        Just(JobId::Bare),
        Just(JobId::Twice),
        select(
            &[
                "../job-1",
                "job-1/..",
                "",
                "job 1",
                "job%201",
                "job+1",
                "%2e%2e",
                "..",
                "job-1%00",
                "job-1;",
                "job-1\\",
                "JOB-1",
                "job-01",
                "job-9",
                "job_1",
                "job-18446744073709551616",
            ][..]
        )
        .prop_map(|s| JobId::Raw(s.to_string())),
        // 64 characters is the longest accepted, 65 one too many.
        (63usize..67).prop_map(|n| JobId::Raw("a".repeat(n))),
        "[A-Za-z0-9_-]{1,8}".prop_map(JobId::Raw),
    ]
}

fn token_mutation() -> impl Strategy<Value = Token> {
    prop_oneof![
        Just(Token::OtherJob),
        Just(Token::Replaced),
        Just(Token::Missing),
        Just(Token::Empty),
        Just(Token::Bare),
        Just(Token::Twice),
        Just(Token::Truncated),
        Just(Token::Upper),
        Just(Token::Extended),
        "[0-9a-f]{32}".prop_map(Token::Raw),
        Just(Token::Raw("0".repeat(10 * 1024))),
        Just(Token::Raw("%00".to_string())),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => select(&["POST", "PUT", "DELETE", "PATCH", "OPTIONS"][..]).prop_map(Mutation::Method),
        1 => select(&[
            "/ws/progress/../api",
            "/ws/PROGRESS",
            "/",
            "/ws/progress%2F",
            "/ws/progress/",
            "/ws/progres",
            "/api/enrichment/batch/../../ws/progress",
        ][..])
        .prop_map(Mutation::Path),
        2 => select(&[None, Some("h2c"), Some(""), Some("WebSocket"), Some("websocket, h2c")][..])
            .prop_map(Mutation::Upgrade),
        1 => Just(Mutation::DropConnection),
        3 => key_mutation().prop_map(Mutation::Key),
        2 => select(&[None, Some("8"), Some(""), Some("13, 8"), Some("14"), Some("013")][..])
            .prop_map(Mutation::Version),
        3 => job_id_mutation().prop_map(Mutation::JobId),
        6 => token_mutation().prop_map(Mutation::Token),
        2 => prop_oneof![
            select(&["0", "3", "4294967295", "-1", "x", "4294967296", "", "1.5", "0x1", "%31"][..])
                .prop_map(str::to_string),
            any::<u32>().prop_map(|n| n.to_string()),
        ]
        .prop_map(Mutation::After),
        1 => Just(Mutation::AfterTwice),
        1 => Just(Mutation::Reverse),
        1 => Just(Mutation::Junk),
    ]
}

/// A well-formed request for job-1 or job-2 with up to three mutations (none a quarter of
/// the time, so valid upgrades are among the attempts).
fn attempt() -> impl Strategy<Value = Attempt> {
    (0usize..2, valid_key(), vec(mutation(), 0..4)).prop_map(|(job, key, ms)| {
        let mut a = Attempt::well_formed(job, key);
        for m in ms {
            a.mutate(m);
        }
        a
    })
}

/// Sends one request through the worker: the response, or what went wrong.
async fn send(
    edge: &dyn Connect,
    req: Request<Full<Bytes>>,
) -> Result<Response<hyper::body::Incoming>, String> {
    let io = edge.connect().await.map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::task::spawn_local(async move {
        let _ = conn.with_upgrades().await;
    });
    sender
        .send_request(req)
        .await
        .map_err(|e| format!("no response: {e}"))
}

async fn post(edge: &dyn Connect, job: &str) -> Result<BatchAccepted, String> {
    let req = Request::post("/api/enrichment/batch")
        .header("host", "worker")
        .body(Full::new(Bytes::from(format!(
            r#"{{"jobId":"{job}","books":1}}"#
        ))))
        .unwrap();
    let resp = send(edge, req).await?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if status != StatusCode::ACCEPTED {
        return Err(format!("POST {job}: {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// After a 101: the accept key answers the request's key and the socket is the job's own
/// (its ready message names the job).
async fn check_socket(
    resp: Response<hyper::body::Incoming>,
    key: &str,
    job_id: &str,
) -> Result<(), String> {
    let accept = resp.headers().get(SEC_WEBSOCKET_ACCEPT).cloned();
    let want = derive_accept_key(key.as_bytes());
    if accept.as_ref().map(|a| a.as_bytes()) != Some(want.as_bytes()) {
        return Err(format!("Sec-WebSocket-Accept {accept:?}, want {want}"));
    }
    let upgraded = hyper::upgrade::on(resp)
        .await
        .map_err(|e| format!("upgrade: {e}"))?;
    let mut ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await;
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .map_err(|_| "no ready message".to_string())?;
    let text = match first {
        Some(Ok(Message::Text(text))) => text,
        other => return Err(format!("first frame {other:?}")),
    };
    match serde_json::from_str::<ServerMsg>(&text) {
        Ok(ServerMsg::Ready { job_id: got, .. }) if got == job_id => Ok(()),
        other => Err(format!("first message {other:?}, want ready for {job_id}")),
    }
}

/// Runs `attempts` in a world of `variant` and `seed`: every mismatch, described.
fn run_attempts(v: &'static str, seed: u64, attempts: &[Attempt]) -> Vec<String> {
    let s = crate::scenario(
        "[storage]\nread_ms = { uniform = [5, 10] }\n[enrichment]\nbook_ms = { constant = 100 }\n",
    );
    let mut world = sim::world(&s, variant::by_name(v).unwrap(), seed);
    let failures = Rc::new(RefCell::new(Vec::new()));
    let out = failures.clone();
    let attempts = attempts.to_vec();
    let panics_before = panics();
    let edge = world.edge();
    world.sim.client("tester", async move {
        let fail = |what: String| out.borrow_mut().push(what);
        // job-1, job-2, then job-1 again: a repeated POST refreshes the token.
        let posted = async {
            Ok::<_, String>((
                post(&*edge, JOBS[0]).await?,
                post(&*edge, JOBS[1]).await?,
                post(&*edge, JOBS[0]).await?,
            ))
        };
        let (first, two, one) = match posted.await {
            Ok(p) => p,
            Err(e) => {
                fail(e);
                return Ok(());
            }
        };
        if one.token == first.token {
            fail(format!(
                "the second POST of job-1 kept its token {}",
                one.token
            ));
        }
        let tokens = Tokens {
            current: [one.token, two.token],
            replaced: first.token,
        };
        for a in &attempts {
            let Some(req) = a.request(&tokens) else {
                continue;
            };
            let line = format!("{} {}", req.method(), req.uri());
            let want = a.expected(&tokens);
            let resp = match send(&*edge, req).await {
                Ok(r) => r,
                Err(e) => {
                    fail(format!("{line}: {e}, want {want}\n  {a:?}"));
                    continue;
                }
            };
            let got = resp.status();
            if got != want {
                fail(format!("{line}: got {got}, want {want}\n  {a:?}"));
            } else if got == StatusCode::SWITCHING_PROTOCOLS {
                let key = a.key.as_deref().unwrap_or_default();
                let job_id = a.job_id_value().unwrap_or_default();
                if let Err(e) = check_socket(resp, key, job_id).await {
                    fail(format!("{line}: 101, but {e}\n  {a:?}"));
                }
            }
        }
        Ok(())
    });
    if let Err(e) = world.sim.run() {
        failures
            .borrow_mut()
            .push(format!("the simulation failed: {e}"));
    }
    if panics() != panics_before {
        failures
            .borrow_mut()
            .push("something in the simulation panicked (see stderr)".into());
    }
    let unauthorized = sum_of(&world, |r| r.unauthorized_accepts);
    if unauthorized > 0 {
        failures.borrow_mut().push(format!(
            "{unauthorized} upgrade(s) accepted a token the durable store does not hold"
        ));
    }
    failures.take()
}

#[test]
fn the_oracle_accepts_only_the_current_token() {
    let t = Tokens {
        current: ["a".repeat(32), "b".repeat(32)],
        replaced: "c".repeat(32),
    };
    let key = base64(&[7; 16]);
    assert_eq!(key.len(), 24);
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(b"fooba"), "Zm9vYmE=");
    let ok = Attempt::well_formed(1, key);
    assert_eq!(ok.expected(&t), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        ok.query(&t),
        format!("?jobId=job-2&token={}", "b".repeat(32))
    );
    for token in [
        Token::OtherJob,
        Token::Replaced,
        Token::Missing,
        Token::Upper,
    ] {
        let mut a = ok.clone();
        a.mutate(Mutation::Token(token));
        assert_eq!(a.expected(&t), StatusCode::UNAUTHORIZED, "{a:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(24), ..ProptestConfig::default() })]

    #[test]
    fn mutated_upgrade_requests_get_the_right_status(
        attempts in vec(attempt(), 8),
        seed in any::<u64>(),
    ) {
        for v in ["sequential", "memory-cache"] {
            let failures = run_attempts(v, seed, &attempts);
            prop_assert!(failures.is_empty(), "{v}, seed {seed}:\n{}", failures.join("\n"));
        }
    }
}

/// An upgrade over HTTP/1.0, whose connection hyper does not upgrade: the object's socket never
/// opens, and the object counts its accept as canceled ("upgrade failed"), as it did when the
/// worker reached the object over HTTP/1 of its own (the worker now calls the object host and
/// hands it the socket's end only for an upgrade hyper would make).
#[test]
fn an_http_1_0_upgrade_opens_no_socket_at_the_object() {
    let s = crate::scenario("[enrichment]\nbook_ms = { constant = 100 }\n");
    let mut world = sim::world(&s, variant::by_name("parallel").unwrap(), 1);
    let edge = world.edge();
    let failures = Rc::new(RefCell::new(Vec::new()));
    let out = failures.clone();
    world.sim.client("tester", async move {
        let accepted = match post(&*edge, JOBS[0]).await {
            Ok(a) => a,
            Err(e) => {
                out.borrow_mut().push(e);
                return Ok(());
            }
        };
        let uri = format!("{PROGRESS}?jobId={}&token={}", JOBS[0], accepted.token);
        let req = Request::get(uri)
            .version(hyper::Version::HTTP_10)
            .header("host", "worker")
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
            .body(Full::new(Bytes::new()))
            .unwrap();
        // Whatever the client reads (hyper's server may close instead of answering), the
        // object's side is what is checked below.
        let _ = send(&*edge, req).await;
        Ok(())
    });
    let trace = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(trace.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(subscriber, || world.sim.run()).expect("the run ends");
    assert_eq!(failures.take(), Vec::<String>::new());
    let trace = trace.text();
    assert!(
        trace.contains("upgrade failed") && !trace.contains("socket closed before"),
        "{trace}"
    );
    let canceled = sum_of(&world, |r| r.canceled);
    assert_eq!(canceled, 1, "the object's accept of an HTTP/1.0 upgrade");
}

/// A trace written to memory.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}
