// Which jobs the reference Worker keeps, and for how long: serve's rule
// (src/server/object/retention.rs; docs/api.md, "HTTP API of the simulated system").
//
// - A job in use (a request or call being handled, its socket open, its books not all done)
//   is kept.
// - A finished job nothing uses is kept for JOB_RETENTION_MS (default 600,000, serve's
//   --job-retention-s 600) after its last use — a request, a call, its socket's close, its
//   completion — or until its token expires if that comes first; then it is forgotten
//   (storage and alarm deleted): its token gets 401, and a POST starts the job again.
// - At most MAX_JOBS jobs (default 20,000, serve's --max-jobs) are kept. A POST for a new job
//   that finds them all kept first forgets finished ones nothing uses, least recently posted
//   first, a tenth of the limit at once; when every kept job is in use it gets 503. The count
//   is one `JobRegistry` object's (a Worker has no other place all jobs share), so every POST
//   passes through it.
// - An object that holds no job (a request for a job never posted, or forgotten) leaves memory
//   once idle (`ctx.abort`): under `preventEviction`, which the in-memory config needs so that
//   workerd's eviction does not drop a kept job's storage (it did, after 20–45 s idle), workerd
//   would otherwise keep every such object for the process's life.

import { DurableObject } from "cloudflare:workers";
import { settings } from "./settings.js";

export const AUTH_TOKEN = "authToken";
export const AUTH_TOKEN_EXPIRATION = "authTokenExpiration";
// When the job was last used, stored for an incarnation that did not see it (diskConfig and
// production evict idle objects; their storage, and this, stay).
const LAST_USE_MS = "lastUseMs";
// The registry's name, and how many objects it asks to forget at once.
const REGISTRY_NAME = "jobs";
const FORGET_CALLS_AT_ONCE = 32;

/** The one JobRegistry. */
export function registry(env) {
  return env.REGISTRY.get(env.REGISTRY.idFromName(REGISTRY_NAME));
}

/** A job's object, as far as its retention goes: what uses it, when it was last used, and its
 * forgetting. The subclass keeps `socket` (the open progress socket, or null), and in memory
 * `job`, `storedToken` and `memoryToken`, which forgetting clears. */
export class Retained extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.retentionMs = settings(env).jobRetentionMs;
    // Requests and calls being handled now.
    this.inFlight = 0;
    // The last use this incarnation saw.
    this.lastUseMs = 0;
    // Whether storage holds a job: null until a read or a call says.
    this.hasJob = null;
    this.settling = false;
  }

  /** Runs one request or call: in use while it runs, a use when it ends. */
  async using(work) {
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
      this.touched();
    }
  }

  /** A use now: stored for a job the object holds (unconfirmed: it changes no answer, so it
   * holds no output gate), and an object that may hold none is looked at once idle. */
  touched() {
    this.lastUseMs = Date.now();
    if (this.hasJob) {
      this.ctx.storage.put(LAST_USE_MS, this.lastUseMs, { allowUnconfirmed: true });
    } else {
      this.settleSoon();
    }
  }

  settleSoon() {
    if (this.settling) return;
    this.settling = true;
    setTimeout(() => {
      this.settling = false;
      this.settle().catch((e) => console.error(`settle: ${e}`));
    }, 0);
  }

  /** An idle object that holds no job leaves memory. A call delivered at this very instant
   * finds the object reset and its caller answers 503: only a request for a job never posted,
   * racing that job's first POST, can meet it. */
  async settle() {
    if (this.inFlight > 0 || this.socket) return;
    if (this.hasJob === null) {
      this.hasJob = (await this.ctx.storage.get(AUTH_TOKEN)) !== undefined;
      if (this.hasJob) return this.touched();
    }
    if (this.hasJob || this.inFlight > 0 || this.socket) return;
    try {
      this.ctx.abort("no job to keep");
    } catch {}
  }

  /** The job's books are all done: its retention starts, and the registry may forget it. */
  async finished(jobId) {
    this.lastUseMs = Date.now();
    await this.ctx.storage.put(LAST_USE_MS, this.lastUseMs);
    await this.ctx.storage.setAlarm(this.lastUseMs + this.retentionMs);
    try {
      await registry(this.env).finished(jobId);
    } catch (e) {
      console.error(`[${jobId}] registry: ${e}`);
    }
  }

  /** The alarm of a finished job: forgotten once idle for the retention since its last use or
   * past its token's expiry, else looked at again then. */
  async retain(jobId) {
    const now = Date.now();
    if (this.inFlight > 0 || this.socket) {
      // In use: its end is a use, which moves the due time on.
      return this.ctx.storage.setAlarm(now + Math.max(this.retentionMs, 1000));
    }
    const st = await this.ctx.storage.get([LAST_USE_MS, AUTH_TOKEN_EXPIRATION]);
    const lastUseMs = Math.max(this.lastUseMs, st.get(LAST_USE_MS) ?? 0);
    const dueMs = Math.min(lastUseMs + this.retentionMs, st.get(AUTH_TOKEN_EXPIRATION) ?? 0);
    if (now < dueMs) return this.ctx.storage.setAlarm(dueMs);
    // Only storage awaited since the check: no request came in between (the input gate).
    await this.erase();
    try {
      await registry(this.env).forgotten(jobId);
      // A POST that came during the call started the job again: count it again.
      if (this.hasJob) await registry(this.env).admit(jobId, true);
    } catch (e) {
      console.error(`[${jobId}] registry: ${e}`);
    }
  }

  /** The registry's call when it needs room: forgets the job unless it is in use. */
  async forgetIfIdle() {
    if (this.inFlight > 0 || this.socket) return false;
    const st = await this.ctx.storage.get(["posted", "done"]);
    if (st.get("posted") && !st.get("done")) return false;
    await this.erase();
    return true;
  }

  /** Storage and alarm deleted; the object leaves memory once idle. */
  async erase() {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.hasJob = false;
    this.job = null;
    this.storedToken = null;
    this.memoryToken = null;
    this.session = null;
    this.settleSoon();
  }
}

/** The jobs kept, for MAX_JOBS: each with when it was last posted and whether its books are
 * all done, least recently posted first (a Map keeps insertion order). Stored unconfirmed, for
 * an incarnation after an eviction. */
export class JobRegistry extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.max = settings(env).maxJobs;
    this.jobs = new Map();
    this.making = null;
    ctx.blockConcurrencyWhile(async () => {
      const stored = [...(await ctx.storage.list())];
      stored.sort((a, b) => a[1].postedMs - b[1].postedMs);
      for (const [jobId, entry] of stored) this.jobs.set(jobId, entry);
    });
  }

  /** A POST for `jobId` (`posted`: its object holds the job already): true when the job is
   * kept, false when every kept job is in use and there is no room for a new one. */
  async admit(jobId, posted) {
    const known = this.jobs.get(jobId);
    if (known || posted) {
      this.keep(jobId, { postedMs: Date.now(), done: known?.done ?? false });
      return true;
    }
    while (this.jobs.size >= this.max) {
      if (!this.making) this.making = this.makeRoom().finally(() => (this.making = null));
      if (!(await this.making) && this.jobs.size >= this.max) return false;
    }
    this.keep(jobId, { postedMs: Date.now(), done: false });
    return true;
  }

  finished(jobId) {
    const entry = this.jobs.get(jobId);
    if (entry) this.keep(jobId, { ...entry, done: true }, false);
  }

  forgotten(jobId) {
    this.jobs.delete(jobId);
    this.ctx.storage.delete(jobId, { allowUnconfirmed: true });
  }

  /** `entry` stored for `jobId`, moved to the most recent end when `recent`. */
  keep(jobId, entry, recent = true) {
    if (recent) this.jobs.delete(jobId);
    this.jobs.set(jobId, entry);
    this.ctx.storage.put(jobId, entry, { allowUnconfirmed: true });
  }

  /** Forgets finished jobs nothing uses, least recently posted first, until a tenth of the
   * limit is free or none is left to ask. Whether it freed any. */
  async makeRoom() {
    const target = this.max - Math.ceil(this.max / 10);
    const finished = [...this.jobs].filter(([, e]) => e.done).map(([jobId]) => jobId);
    let freed = 0;
    for (let i = 0; i < finished.length && this.jobs.size > target; i += FORGET_CALLS_AT_ONCE) {
      const batch = finished.slice(i, i + Math.min(FORGET_CALLS_AT_ONCE, this.jobs.size - target));
      const forgot = await Promise.all(batch.map((jobId) => this.askToForget(jobId)));
      batch.forEach((jobId, k) => {
        if (forgot[k] && this.jobs.has(jobId)) {
          this.forgotten(jobId);
          freed += 1;
        }
      });
    }
    if (freed > 0) {
      console.log(`job limit reached: ${freed} idle job(s) forgotten, ${this.jobs.size} kept`);
    }
    return freed > 0;
  }

  async askToForget(jobId) {
    try {
      return await this.env.JOBS.get(this.env.JOBS.idFromName(jobId)).forgetIfIdle();
    } catch (e) {
      console.error(`[${jobId}] forgetIfIdle: ${e}`);
      return false;
    }
  }
}
