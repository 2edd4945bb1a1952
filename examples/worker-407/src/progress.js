// What both versions of the object share: the token stored by the POST, the enrichment (one
// alarm per book), and the progress messages on the open socket. Only the token read in
// fetch() differs between before.js and after.js.

import { DurableObject } from "cloudflare:workers";

// A book's enrichment (fetching its cover and metadata in the app's real Worker) takes 200–800
// ms here, as sims/issue407.toml's enrichment.book_ms says.
const BOOK_MS_MIN = 200;
const BOOK_MS_MAX = 800;

/** The object's state and everything but its upgrade (its `fetch`). */
export class ProgressBase extends DurableObject {
  constructor(state, env) {
    super(state, env);
    this.storage = state.storage;
    this.job = null; // { jobId, books, booksDone }
    this.socket = null;
  }

  /** The POST's call: the token and its expiration stored, the job started. */
  async setAuthToken(jobId, books, token, expiresAtMs) {
    await this.storage.put({ authToken: token, authTokenExpiration: expiresAtMs });
    if (this.job === null) {
      this.job = { jobId, books, booksDone: 0 };
      await this.nextBook();
    }
  }

  async nextBook() {
    const ms = BOOK_MS_MIN + Math.random() * (BOOK_MS_MAX - BOOK_MS_MIN);
    await this.storage.setAlarm(Date.now() + ms);
  }

  async alarm() {
    const job = this.job;
    if (job === null || job.booksDone >= job.books) return;
    job.booksDone += 1;
    this.send({ type: "progress", seq: job.booksDone, books: job.books });
    if (job.booksDone < job.books) return this.nextBook();
    this.send({ type: "complete", books: job.books });
    this.socket?.close(1000, "job complete");
    this.socket = null;
  }

  send(message) {
    if (this.socket === null) {
      console.log(`[${this.job.jobId}] No WebSocket connection available`);
      return;
    }
    this.socket.send(JSON.stringify(message));
  }

  /** The accepted socket becomes the job's: `ready` with the progress so far. */
  opened(server) {
    const { jobId, books, booksDone } = this.job ?? { books: 0, booksDone: 0 };
    this.socket = server;
    server.addEventListener("close", () => {
      if (this.socket === server) this.socket = null;
    });
    this.send({ type: "ready", jobId, booksDone, books });
    if (this.job !== null && booksDone >= books) {
      this.send({ type: "complete", books });
      server.close(1000, "job complete");
    }
  }
};
