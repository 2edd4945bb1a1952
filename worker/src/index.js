// The reference Worker and Durable Object of handshake-sim's documented HTTP API (docs/api.md, "HTTP
// API of the simulated system"): the batch POST, the progress upgrade and the status poll, with
// the four handshake variants of src/server/variant/, and the app session (one socket for a
// session's jobs: `POST /api/session`, `GET /ws/session`). Each job is one object, routed by
// `idFromName(jobId)`; each session is one object too, `idFromName(sessionId)`, which owns the
// session's socket and to which each of its jobs' objects sends its progress. Settings are vars (wrangler.toml) or environment bindings (config.capnp):
//
//   VARIANT       sequential | parallel | batched | memory-cache (default parallel)
//   HANDSHAKE_SIM_LATENCY  a scenario's storage latency and cold starts (the JSON of
//                 `handshake-sim dev-latency SCENARIO`), applied by the scenario-latency module
//                 (`../scenario-latency`); absent (default), storage answers as workerd's does
//   BOOK_MS       enrichment time per book, ms (default 100)
//   TOKEN_TTL_MS  token lifetime, ms (default 7,200,000)
//   JOB_RETENTION_MS  how long a finished job nothing uses is kept, ms (default 600,000: serve's
//                 --job-retention-s 600); then it is forgotten, its token gets 401
//   MAX_JOBS      jobs kept at most (default 20,000: serve's --max-jobs); a POST for a new job
//                 past it forgets the least recently posted finished ones, or gets 503
//
// Requests are routed by the request target as the client sent it, never normalised: like
// serve, `/api/enrichment/./batch` and `*` are no paths of the API (404).

import { withScenarioLatency } from "handshake-sim-scenario-latency";
import { AUTH_TOKEN, AUTH_TOKEN_EXPIRATION, Retained, registry } from "./retention.js";
import { settings } from "./settings.js";
export { JobRegistry } from "./retention.js";

const BATCH_PATH = "/api/enrichment/batch";
const PROGRESS_PATH = "/ws/progress";
const STATUS_PATH = "/api/enrichment/status";
const SESSION_PATH = "/api/session";
const SESSION_SOCKET_PATH = "/ws/session";
const SESSION_JOBS_MAX = 1000;
const SESSION_BOOKS_MAX = 100000;
const BODY_BYTES_MAX = 64 * 1024;
const MESSAGE_BYTES_MAX = 64 * 1024;
const BOOKS_PER_JOB_MAX = 10000;
const U32_MAX = 4294967295;

// ---- request checks (as src/wire/api.rs and src/server/object/upgrade.rs) -----------------

function text(status, body, headers = {}) {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain", ...headers },
  });
}

function json(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** RFC 9110 7.2 and RFC 3986 3.2.2, as serve's `valid_host`: `uri-host [":" port]`, the host
 * an IP literal in brackets or a non-empty reg-name, the port digits. Two Host lines reach the
 * Worker joined by ", ", which is not one. */
function validHost(host) {
  const regName = "[A-Za-z0-9\\-._~%!$&'()*+,;=]";
  return new RegExp(`^(\\[(${regName}|:)+\\]|${regName}+)(:[0-9]*)?$`).test(host);
}

/** The request target as the client sent it, split at the query: { path, query }. workerd
 * builds `request.url` from the scheme, the Host header and the target as they came (an
 * absolute-form target becomes its path), so the target is what follows `scheme://host`;
 * `new URL()` would normalise it (`/a/./b` is `/a/b`, and `*` makes the URL invalid). */
function target(request) {
  const url = request.url;
  const host = request.headers.get("host") ?? "";
  const afterScheme = url.indexOf("://") + 3;
  let raw;
  if (url.startsWith(host, afterScheme)) {
    raw = url.slice(afterScheme + host.length);
  } else {
    // Not built that way (another runtime): the target starts at the first '/'.
    const slash = url.indexOf("/", afterScheme);
    raw = slash < 0 ? "" : url.slice(slash);
  }
  const q = raw.indexOf("?");
  return q < 0 ? { path: raw, query: "" } : { path: raw.slice(0, q), query: raw.slice(q + 1) };
}

/** The raw value of `name` in a query (no percent-decoding, as serve); throws on a repeat. */
function queryParam(query, name) {
  let found;
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    const [k, v] = eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
    if (k === name) {
      if (found !== undefined) throw new RangeError(`${name} given twice`);
      found = v;
    }
  }
  return found;
}

function validJobId(id) {
  return typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

/** `jobId` (well formed, once) and `token` (empty when absent), or the 400's reason; `name`
 * `sessionId` for a session's socket (the id is then still returned as `jobId`: the object's). */
function jobAndToken(query, name = "jobId") {
  let jobId;
  try {
    jobId = queryParam(query, name);
  } catch {
    return { error: `missing or malformed ${name}` };
  }
  if (!validJobId(jobId)) return { error: `missing or malformed ${name}` };
  let token;
  try {
    token = queryParam(query, "token") ?? "";
  } catch {
    return { error: "token given twice" };
  }
  return { jobId, token };
}

/** A session socket's `after`: `jobId:seq` pairs joined by commas, as src/wire/api.rs
 * `parse_session_after`; a Map, or null when malformed. */
function parseSessionAfter(raw) {
  const out = new Map();
  for (const pair of (raw ?? "").split(",").filter((p) => p !== "")) {
    const colon = pair.indexOf(":");
    if (colon < 0) return null;
    const [job, seq] = [pair.slice(0, colon), pair.slice(colon + 1)];
    if (!validJobId(job) || !/^\+?[0-9]+$/.test(seq) || Number(seq) > U32_MAX) return null;
    if (out.has(job) || out.size >= SESSION_JOBS_MAX) return null;
    out.set(job, Number(seq));
  }
  return out;
}

/** A `Sec-WebSocket-Key` that is 16 bytes of base64 (RFC 6455 4.2.1). */
function validWsKey(key) {
  return key !== null && /^[A-Za-z0-9+/]{21}[AQgw]==$/.test(key);
}

function connectionUpgrade(value) {
  return value !== null && value.split(",").some((t) => t.trim().toLowerCase() === "upgrade");
}

/** The upgrade's instant checks, in serve's order: its refusal, or what was asked. */
function checkUpgrade(request, query, session = false) {
  const upgrade = request.headers.get("upgrade");
  if (upgrade === null || upgrade.toLowerCase() !== "websocket") {
    return { refusal: text(426, "expected Upgrade: websocket", { upgrade: "websocket" }) };
  }
  const asked = jobAndToken(query, session ? "sessionId" : "jobId");
  if (asked.error) return { refusal: text(400, asked.error) };
  let after;
  try {
    after = queryParam(query, "after");
  } catch {
    return { refusal: text(400, "after given twice") };
  }
  if (session) {
    if (after !== undefined && parseSessionAfter(after) === null) {
      return { refusal: text(400, "malformed after") };
    }
  } else if (after !== undefined) {
    // Rust's u32 parse: digits with an optional leading '+'.
    if (!/^\+?[0-9]+$/.test(after) || Number(after) > U32_MAX) {
      return { refusal: text(400, "malformed after") };
    }
  }
  if (!connectionUpgrade(request.headers.get("connection"))) {
    return { refusal: text(400, "missing Connection: Upgrade") };
  }
  // Two key lines reach the Worker joined by ", ", which is no key: refused like serve (RFC
  // 6455 11.3.1: one key per request).
  if (!validWsKey(request.headers.get("sec-websocket-key"))) {
    return { refusal: text(400, "missing, malformed or repeated Sec-WebSocket-Key") };
  }
  if (request.headers.get("sec-websocket-version") !== "13") {
    return {
      refusal: text(426, "unsupported Sec-WebSocket-Version", { "sec-websocket-version": "13" }),
    };
  }
  return { asked };
}

/** A POST's body, at most 64 KiB: its text, or the refusal (413). */
async function readBody(request) {
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > BODY_BYTES_MAX) {
    return { refusal: text(413, "body too large or unreadable") };
  }
  const chunks = [];
  let bytes = 0;
  if (request.body !== null) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > BODY_BYTES_MAX) {
        await reader.cancel();
        return { refusal: text(413, "body too large or unreadable") };
      }
      chunks.push(value);
    }
  }
  const body = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return { body };
}

/** A POST's body as JSON: the value and its members (`topLevelMembers`), or the 400 (`what`:
 * "batch" or "session"). */
async function readJson(request, what) {
  const { body, refusal } = await readBody(request);
  if (refusal) return { refusal };
  try {
    // ignoreBOM keeps a byte-order mark in the text, where JSON.parse refuses it (as serde).
    const source = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
    return { value: JSON.parse(source), members: topLevelMembers(source) };
  } catch (e) {
    return { refusal: text(400, `bad ${what} body: ${e.message}`) };
  }
}

/** The batch POST's body: the batch, or the refusal (400, 413). */
async function readBatch(request) {
  const { value: batch, members, refusal } = await readJson(request, "batch");
  if (refusal) return { refusal };
  // serde's view of BatchRequest: exactly jobId (a string) and books (a u32), and an optional
  // sessionId (a string), each once.
  const ok =
    members !== null &&
    new Set(members.map(([k]) => k)).size === members.length &&
    members.every(([k]) => ["jobId", "books", "sessionId", "sessionToken"].includes(k)) &&
    typeof batch.jobId === "string" &&
    members.some(([k, raw]) => k === "books" && /^(0|[1-9][0-9]*)$/.test(raw)) &&
    batch.books <= U32_MAX &&
    (batch.sessionId === undefined || typeof batch.sessionId === "string") &&
    (batch.sessionToken === undefined || typeof batch.sessionToken === "string");
  if (!ok) return { refusal: text(400, "bad batch body: expected {jobId: string, books: u32}") };
  if (!validJobId(batch.jobId)) return { refusal: text(400, "malformed jobId") };
  if (batch.sessionId !== undefined && !validJobId(batch.sessionId)) {
    return { refusal: text(400, "malformed sessionId") };
  }
  if (batch.books > BOOKS_PER_JOB_MAX) return { refusal: text(400, "too many books") };
  return { batch };
}

/** The session POST's body: exactly {sessionId: string}, or the refusal. */
async function readSession(request) {
  const { value, members, refusal } = await readJson(request, "session");
  if (refusal) return { refusal };
  const ok =
    members !== null &&
    members.length === 1 &&
    members[0][0] === "sessionId" &&
    typeof value.sessionId === "string";
  if (!ok) return { refusal: text(400, "bad session body: expected {sessionId: string}") };
  if (!validJobId(value.sessionId)) return { refusal: text(400, "malformed sessionId") };
  return { sessionId: value.sessionId };
}

/** The members of `source`'s top-level object, in order, duplicates kept: [key, raw value
 * text] each, or null when it is not an object. `source` is already valid JSON (JSON.parse
 * took it), which keeps the scan short. JSON.parse alone hides what serde refuses: a repeated
 * key (the last wins) and the literal of a number (2.0, 1e0 and -0 all become integers). */
function topLevelMembers(source) {
  let i = 0;
  const ws = () => {
    while (i < source.length && " \t\n\r".includes(source[i])) i++;
  };
  const skipString = () => {
    for (i++; source[i] !== '"'; i++) if (source[i] === "\\") i++;
    i++;
  };
  const skipValue = () => {
    if (source[i] === '"') return skipString();
    if (source[i] !== "{" && source[i] !== "[") {
      // A number, true, false or null: up to the next delimiter.
      while (i < source.length && !",}] \t\n\r".includes(source[i])) i++;
      return;
    }
    let depth = 0;
    do {
      const c = source[i];
      if (c === '"') {
        skipString();
        continue;
      }
      if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") depth--;
      i++;
    } while (depth > 0);
  };
  ws();
  if (source[i] !== "{") return null;
  i++;
  const members = [];
  for (ws(); source[i] === '"'; ) {
    const keyStart = i;
    skipString();
    const key = JSON.parse(source.slice(keyStart, i));
    ws();
    i++; // ':'
    ws();
    const valueStart = i;
    skipValue();
    members.push([key, source.slice(valueStart, i)]);
    ws();
    if (source[i] === ",") {
      i++;
      ws();
    }
  }
  return members;
}

/** 128 bits from crypto.getRandomValues, as 32 hex digits. */
function freshToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- the Worker ---------------------------------------------------------------------------

/** The object's answer to `request`; a call that throws (the object crashed, was reset or
 * could not be reached) is a 503, as serve answers for an object that crashed mid-handshake. */
async function objectFetch(stub, request, jobId) {
  try {
    return await stub.fetch(request);
  } catch (e) {
    console.error(`[${jobId}] object call failed: ${e}`);
    return text(503, "object unavailable");
  }
}

/** The answer to a batch POST the job's object refused: its session's refusal, or the id's. */
const REFUSALS = {
  session: [409, "that id is an app session's, not a job's"],
  "other-session": [409, "the job is another session's"],
  unknown: [404, "no such session: POST /api/session first"],
  unauthorized: [401, "invalid or expired session token"],
  full: [409, "session full: start another"],
};

export default {
  async fetch(request, env) {
    const s = settings(env);
    // RFC 9112 3.2, as serve: 400 for a Host that is not one host (two lines arrive joined).
    // workerd itself refuses a request without Host.
    const host = request.headers.get("host");
    if (host !== null && !validHost(host)) return text(400, "malformed or repeated Host");
    const { path, query } = target(request);
    const stubFor = (jobId) => env.JOBS.get(env.JOBS.idFromName(jobId));
    switch (path) {
      case BATCH_PATH: {
        if (request.method !== "POST") return text(405, "use POST");
        const { batch, refusal } = await readBatch(request);
        if (refusal) return refusal;
        const token = freshToken();
        const expiresAtMs = Date.now() + s.tokenTtlMs;
        const stub = stubFor(batch.jobId);
        let accepted;
        try {
          // Awaited: the call returns once the put is durable (the object's output gate), so
          // the 202 never overtakes the token (the #378 race).
          const session = batch.sessionId === undefined
            ? null
            : { id: batch.sessionId, token: batch.sessionToken ?? "" };
          accepted = await stub.acceptBatch(batch.jobId, batch.books, token, expiresAtMs, session);
        } catch (e) {
          console.error(`[${batch.jobId}] setAuthToken failed: ${e}`);
          return text(503, "storage write failed");
        }
        if (REFUSALS[accepted]) return text(...REFUSALS[accepted]);
        if (!accepted) {
          return text(503, "job limit reached: every job the Worker keeps is in use");
        }
        return json(202, { jobId: batch.jobId, token, expiresAtMs });
      }
      case SESSION_PATH: {
        if (request.method !== "POST") return text(405, "use POST");
        const { sessionId, refusal } = await readSession(request);
        if (refusal) return refusal;
        const token = freshToken();
        const expiresAtMs = Date.now() + s.tokenTtlMs;
        let accepted;
        try {
          accepted = await stubFor(sessionId).acceptSession(sessionId, token, expiresAtMs);
        } catch (e) {
          console.error(`[${sessionId}] setAuthToken failed: ${e}`);
          return text(503, "storage write failed");
        }
        if (accepted === "job") return text(409, "that id is a job's, not an app session's");
        if (!accepted) {
          return text(503, "job limit reached: every job the Worker keeps is in use");
        }
        return json(202, { sessionId, token, expiresAtMs });
      }
      case SESSION_SOCKET_PATH: {
        if (request.method !== "GET") return text(405, "use GET with Upgrade: websocket");
        const { asked, refusal } = checkUpgrade(request, query, true);
        if (refusal) return refusal;
        return objectFetch(stubFor(asked.jobId), request, asked.jobId);
      }
      case PROGRESS_PATH: {
        if (request.method !== "GET") return text(405, "use GET with Upgrade: websocket");
        const { asked, refusal } = checkUpgrade(request, query);
        if (refusal) return refusal;
        return objectFetch(stubFor(asked.jobId), request, asked.jobId);
      }
      case STATUS_PATH: {
        if (request.method !== "GET") return text(405, "use GET");
        const asked = jobAndToken(query);
        if (asked.error) return text(400, asked.error);
        return objectFetch(stubFor(asked.jobId), request, asked.jobId);
      }
      default:
        // Another path, a path with dot segments or other spelling, or `*`. (A CONNECT never
        // gets here: workerd answers it itself, 500 without a connect() handler.)
        return text(404, "not found");
    }
  },
};

// ---- the Durable Object -------------------------------------------------------------------

function timingSafeEqual(a, b) {
  const enc = new TextEncoder();
  const [x, y] = [enc.encode(a), enc.encode(b)];
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}

/** A message's size in bytes: text, an ArrayBuffer, or a Blob (a binary message's type under
 * this compatibility date: a Blob has a size, not a byteLength). */
function byteLength(data) {
  if (typeof data === "string") return new TextEncoder().encode(data).byteLength;
  return data.byteLength ?? data.size;
}

// The job's state lives in the object's memory and is written through to storage; storage is
// read only by an incarnation that has not seen it (after an eviction), and for the token by
// the variant. So the object's storage round trips are the ones the simulation models: the
// variant's token read on an upgrade, plus one read of the job's state on a fresh object's
// first POST (which delays the 202, not the upgrade).
const JOB_KEYS = ["posted", "jobId", "books", "booksDone", "done", "sessionId"];
// A session's object stores only that it is one (its id); what its jobs did it keeps in memory,
// as the simulation's does (an incarnation after an eviction knows no progress until the next).
const SESSION_KEY = "session";

class ReferenceJobObject extends Retained {
  constructor(ctx, env) {
    super(ctx, env);
    this.settings = settings(env);
    // memory-cache: the token as setAuthToken left it (lost when the object leaves memory).
    this.memoryToken = null;
    // { token, expiresAtMs } as this incarnation last stored them: what storage holds (only
    // this object writes its storage), for the re-check before the 101.
    this.storedToken = null;
    // { jobId, books, booksDone, done } once posted and known to this incarnation, else null.
    this.job = null;
    // The open progress socket and what it already carried.
    this.socket = null;
    // Upgrades so far in this incarnation.
    this.upgrades = 0;
    // A session's object: { id, jobs: Map(jobId → { books, booksDone, done }) }, else null.
    this.session = null;
  }

  /** The POST: the registry's admission of a new job (MAX_JOBS), the token stored, the job
   * started on its first POST. One call, so the registry never sees the object idle between
   * the admission and the job. False: the registry is full of jobs in use. */
  async acceptBatch(jobId, books, token, expiresAtMs, session) {
    return this.using(async () => {
      await this.loadState();
      if (this.session !== null) return "session";
      const posted = this.job !== null;
      if (session !== null) {
        if (posted && this.job.sessionId && this.job.sessionId !== session.id) {
          return "other-session";
        }
        // The session's object expects the job, if the caller holds the session's token.
        const stub = this.env.JOBS.get(this.env.JOBS.idFromName(session.id));
        const joined = await stub.joinSession(jobId, session.token, books);
        if (joined !== "ok") return joined;
      }
      if (!(await registry(this.env).admit(jobId, posted))) return false;
      await this.setAuthToken(token, expiresAtMs);
      this.hasJob = true;
      await this.startJob(jobId, books, session?.id ?? null);
      return true;
    });
  }

  /** The session POST: a fresh token for the session's socket, stored as a job's is (the
   * variants read it the same way). "job": the id is a job's. False: the registry is full. */
  async acceptSession(sessionId, token, expiresAtMs) {
    return this.using(async () => {
      await this.loadState();
      if (this.job !== null) return "job";
      const known = this.session !== null;
      if (!(await registry(this.env).admit(sessionId, known))) return false;
      await this.setAuthToken(token, expiresAtMs);
      this.hasJob = true;
      if (!known) {
        this.session = { id: sessionId, jobs: new Map() };
        await this.ctx.storage.put(SESSION_KEY, sessionId);
        // A session has no books: its retention starts now (kept while its socket is open).
        await this.finished(sessionId);
      }
      return true;
    });
  }

  /** A session's state: from memory, or its id from storage; null when not a session. */
  async sessionState() {
    await this.loadState();
    return this.session;
  }

  /** What the object holds, a job or a session: from memory, or read once (one round trip,
   * the one a job's state always cost) by an incarnation that has seen neither. */
  async loadState() {
    if (this.job || this.session) return;
    const st = await this.ctx.storage.get([...JOB_KEYS, SESSION_KEY]);
    if (st.get(SESSION_KEY) !== undefined) {
      this.session = { id: st.get(SESSION_KEY), jobs: new Map() };
    }
    if (!st.get("posted")) return;
    this.job = {
      jobId: st.get("jobId"),
      books: st.get("books"),
      booksDone: st.get("booksDone"),
      done: st.get("done"),
      sessionId: st.get("sessionId") ?? null,
    };
  }

  /** A batch POST naming this session with `token`: "ok", "unknown" (not a session),
   * "unauthorized" (not the session's token) or "full" (1,000 jobs, or 100,000 books). */
  async joinSession(jobId, token, books) {
    return this.using(async () => {
      const session = await this.sessionState();
      if (session === null) return "unknown";
      const held = this.storedToken ?? (await this.durableToken());
      if (token === "" || !tokenHolds(token, held)) return "unauthorized";
      if (!session.jobs.has(jobId)) {
        const booksBefore = [...session.jobs.values()].reduce((n, p) => n + p.expected, 0);
        if (session.jobs.size >= SESSION_JOBS_MAX || booksBefore + books > SESSION_BOOKS_MAX) {
          return "full";
        }
        session.jobs.set(jobId, { expected: books, books: 0, booksDone: 0, done: false });
      }
      return "ok";
    });
  }

  /** A job's progress message, from its object: kept, and pushed on the session's socket with
   * the job's id unless that socket carried it already. */
  async relay(jobId, msg) {
    return this.using(async () => {
      const session = await this.sessionState();
      if (session === null) return;
      const p = session.jobs.get(jobId) ?? { expected: msg.books, books: 0, booksDone: 0, done: false };
      p.books = msg.books;
      if (msg.type === "progress") p.booksDone = Math.max(p.booksDone, msg.seq);
      else p.done = true;
      session.jobs.set(jobId, p);
      const s = this.socket;
      if (s?.carried) {
        const c = s.carried.get(jobId) ?? { seq: 0, complete: false };
        s.carried.set(jobId, c);
        const fresh = msg.type === "progress" ? msg.seq > c.seq : !c.complete;
        if (!fresh) return;
        try {
          s.ws.send(JSON.stringify({ ...msg, jobId }));
          if (msg.type === "progress") c.seq = msg.seq;
          else c.complete = true;
          return;
        } catch {
          this.socket = null;
        }
      }
      console.log(`[${session.id}] No WebSocket connection available for ${jobId}`);
    });
  }

  /** Stores the POST's token (and keeps it in memory for memory-cache). */
  async setAuthToken(token, expiresAtMs) {
    await this.ctx.storage.put({ [AUTH_TOKEN]: token, [AUTH_TOKEN_EXPIRATION]: expiresAtMs });
    this.storedToken = { token, expiresAtMs };
    if (this.settings.variant === "memory-cache") this.memoryToken = { token, expiresAtMs };
  }

  /** The job's state: from memory, or read once from storage by an incarnation that has not
   * seen it; null when no job was posted. */
  async jobState() {
    await this.loadState();
    return this.job;
  }

  /** Starts the job on its first POST; a repeat (a token refresh) leaves it alone. */
  async startJob(jobId, books, sessionId) {
    if (this.job) return { repeat: true };
    this.job = { jobId, books, booksDone: 0, done: books === 0, sessionId };
    await this.ctx.storage.put({ posted: true, ...this.job });
    if (books === 0) {
      await this.push(jobId, { type: "complete", books }, 0);
      await this.finished(jobId);
    } else {
      await this.ctx.storage.setAlarm(Date.now() + this.settings.bookMs);
    }
    return { repeat: false };
  }

  /** One storage round trip. */
  roundTrip(keys) {
    return this.ctx.storage.get(keys);
  }

  /** The variant's token read: { token, expiresAtMs } (undefined when not stored). */
  async readByVariant() {
    const both = [AUTH_TOKEN, AUTH_TOKEN_EXPIRATION];
    switch (this.settings.variant) {
      case "sequential": {
        const token = await this.roundTrip(AUTH_TOKEN);
        const expiresAtMs = await this.roundTrip(AUTH_TOKEN_EXPIRATION);
        return { token, expiresAtMs };
      }
      case "batched": {
        const m = await this.roundTrip(both);
        return { token: m.get(AUTH_TOKEN), expiresAtMs: m.get(AUTH_TOKEN_EXPIRATION) };
      }
      case "memory-cache": {
        if (this.memoryToken) return { ...this.memoryToken };
        const read = await this.parallelRead();
        if (read.token !== undefined) this.memoryToken = { ...read };
        return read;
      }
      default:
        return this.parallelRead();
    }
  }

  async parallelRead() {
    const [token, expiresAtMs] = await Promise.all([
      this.roundTrip(AUTH_TOKEN),
      this.roundTrip(AUTH_TOKEN_EXPIRATION),
    ]);
    return { token, expiresAtMs };
  }

  /** Checks a presented token: null when valid, else [status, reason]. */
  async authorize(presented) {
    if (presented === "") return [401, "missing token"];
    let read;
    try {
      read = await this.readByVariant();
    } catch (e) {
      console.error(`storage read failed: ${e}`);
      return [503, "storage read failed"];
    }
    this.hasJob = read.token !== undefined;
    return tokenHolds(presented, read) ? null : [401, "invalid or expired token"];
  }

  async fetch(request) {
    const { path, query } = target(request);
    const session = path === SESSION_SOCKET_PATH;
    const { jobId, token } = jobAndToken(query, session ? "sessionId" : "jobId");
    return this.using(async () => {
      try {
        if (path === STATUS_PATH) return await this.status(jobId, token);
        return await this.upgrade(jobId, token, queryParam(query, "after"), session);
      } catch (e) {
        // The reads after the token check (the job's state, the re-check before the 101).
        console.error(`[${jobId}] storage read failed: ${e}`);
        return text(503, "storage read failed");
      }
    });
  }

  async status(jobId, token) {
    const refused = await this.authorize(token);
    if (refused) return text(...refused);
    const job = await this.jobState();
    return json(200, {
      jobId,
      booksDone: job?.booksDone ?? 0,
      books: job?.books ?? 0,
      done: job?.done ?? false,
    });
  }

  /** Steps 5–9 of the write-up's call flow, its timing line, the 101 and the socket. */
  async upgrade(jobId, token, afterRaw, session) {
    const arrived = Date.now();
    this.upgrades += 1;
    const refused = await this.authorize(token);
    if (refused) return text(...refused);
    const checked = Date.now();
    const pairStart = Date.now();
    const pair = new WebSocketPair();
    const [client, server] = Object.values(pair);
    const accepted = Date.now();
    server.accept();
    const done = Date.now();
    console.log(
      `[${jobId}] 📊 WebSocket upgrade timing: { storageDuration: "${checked - arrived}ms", ` +
        `pairCreation: "${accepted - pairStart}ms", accept: "${done - accepted}ms", ` +
        `totalUpgrade: "${done - arrived}ms" }`,
    );
    // Re-checked against what storage holds right before the 101 (as this incarnation stored
    // it, else a cache hit after the variant's read): a token replaced since is refused.
    try {
      const held = this.storedToken ?? (await this.durableToken());
      if (!tokenHolds(token, held, checked)) {
        server.close(1011, "token replaced");
        return text(401, "invalid or expired token");
      }
      // The token was the object's: a session's socket is for a session's object, a job's for
      // a job's (as serve). Known by now, or read with the job's state, after the timing line.
      await this.loadState();
      if (session !== (this.session !== null)) {
        server.close(1011, "wrong kind of object");
        return text(404, session ? "no such session" : "no such job");
      }
      if (session) this.openSessionSocket(server, parseSessionAfter(afterRaw) ?? new Map());
      else await this.openSocket(jobId, server, afterRaw === undefined ? null : Number(afterRaw));
    } catch (e) {
      // A failed read: the accepted end is closed, the caller answers 503.
      try {
        server.close(1011, "storage read failed");
      } catch {}
      throw e;
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  async durableToken() {
    const durable = await this.ctx.storage.get([AUTH_TOKEN, AUTH_TOKEN_EXPIRATION]);
    return { token: durable.get(AUTH_TOKEN), expiresAtMs: durable.get(AUTH_TOKEN_EXPIRATION) };
  }

  /** Makes `server` the job's socket: ready, the progress after `after` when asked, the
   * completion when done; a socket it replaces is closed with 1000. */
  async openSocket(jobId, server, after) {
    const job = await this.jobState();
    const books = job?.books ?? 0;
    const booksDone = job?.booksDone ?? 0;
    const done = job?.done ?? false;
    const send = (m) => server.send(JSON.stringify(m));
    send({ type: "ready", jobId, booksDone, books });
    let throughSeq = 0;
    if (after !== null) {
      for (let seq = after + 1; seq <= booksDone; seq++) send({ type: "progress", seq, books });
      throughSeq = Math.max(after, booksDone);
    }
    this.adopt(server, { ws: server, throughSeq, completeSent: done });
    if (done) {
      // A socket opened after the job's end: ready, the replay, complete, then the close.
      send({ type: "complete", books });
      server.close(1000, "job complete");
    }
  }

  /** Makes `server` the session's socket: ready with the session's id, then for each job the
   * progress after what `after` says the app has (0 for a job it does not name) and the
   * completion of a finished one; a socket it replaces is closed with 1000. It stays open past
   * every job's end: the app closes it. */
  openSessionSocket(server, after) {
    const session = this.session;
    const jobs = [...session.jobs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const send = (m) => server.send(JSON.stringify(m));
    const sum = (f) => jobs.reduce((n, [, p]) => n + f(p), 0);
    send({ type: "ready", jobId: session.id, booksDone: sum((p) => p.booksDone), books: sum((p) => p.books) });
    const carried = new Map();
    for (const [jobId, p] of jobs) {
      const a = after.get(jobId) ?? 0;
      for (let seq = a + 1; seq <= p.booksDone; seq++) {
        send({ type: "progress", seq, books: p.books, jobId });
      }
      if (p.done) send({ type: "complete", books: p.books, jobId });
      carried.set(jobId, { seq: Math.max(a, p.booksDone), complete: p.done });
    }
    this.adopt(server, { ws: server, carried });
  }

  /** Makes `socket` the object's, closing the one it replaces, with its listeners. */
  adopt(server, socket) {
    const previous = this.socket;
    this.socket = socket;
    if (previous) {
      try {
        previous.ws.close(1000, "replaced");
      } catch {}
    }
    server.addEventListener("message", (event) => {
      if (byteLength(event.data) > MESSAGE_BYTES_MAX) {
        try {
          server.close(1009, "message too big");
        } catch {}
      }
    });
    const forget = () => {
      if (this.socket === socket) this.socket = null;
      // Its end is a use: the retention counts from it.
      this.touched();
    };
    // The runtime echoes the client's close (web_socket_auto_reply_to_close).
    server.addEventListener("close", forget);
    server.addEventListener("error", forget);
  }

  /** A progress event: carried to the job's session's object when it has one; else pushed on
   * the socket unless it already carried it, else warned about. */
  async push(jobId, msg, seq) {
    if (this.job?.sessionId) {
      const stub = this.env.JOBS.get(this.env.JOBS.idFromName(this.job.sessionId));
      try {
        await stub.relay(jobId, msg);
      } catch (e) {
        console.error(`[${jobId}] session call failed: ${e}`);
      }
      return;
    }
    const s = this.socket;
    if (s) {
      const replayed = msg.type === "progress" ? seq <= s.throughSeq : s.completeSent;
      if (replayed) return;
      try {
        s.ws.send(JSON.stringify(msg));
        if (msg.type === "complete") {
          s.completeSent = true;
          // The documented end of a job's socket: the server closes with 1000 (as `serve`).
          s.ws.close(1000, "job complete");
        }
        return;
      } catch {
        this.socket = null;
      }
    }
    console.log(`[${jobId}] No WebSocket connection available`);
  }

  /** The enrichment pipeline, one book per alarm, then the completion; once the job is done,
   * the alarm is its retention's (retention.js). */
  async alarm() {
    const session = await this.sessionState();
    if (session) return this.retain(session.id);
    const job = await this.jobState();
    if (!job) return;
    if (job.done) return this.retain(job.jobId);
    const { jobId, books } = job;
    const booksDone = job.booksDone + 1;
    const done = booksDone >= books;
    Object.assign(job, { booksDone, done });
    await this.ctx.storage.put({ booksDone, done });
    await this.push(jobId, { type: "progress", seq: booksDone, books }, booksDone);
    if (done) {
      await this.push(jobId, { type: "complete", books }, 0);
      await this.finished(jobId);
    } else {
      await this.ctx.storage.setAlarm(Date.now() + this.settings.bookMs);
    }
  }
}

/** The reference object, with the scenario's storage latency when HANDSHAKE_SIM_LATENCY is
 * set (and unchanged without it). */
export const JobObject = withScenarioLatency(ReferenceJobObject);

/** Whether `presented` is the stored token, unexpired at `nowMs`. */
function tokenHolds(presented, read, nowMs = Date.now()) {
  if (typeof read.token !== "string" || typeof read.expiresAtMs !== "number") return false;
  return timingSafeEqual(presented, read.token) && nowMs < read.expiresAtMs;
}
