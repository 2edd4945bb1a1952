// Model facts checked in workerd (tests/it/workerd.rs; docs/model.md, "Checked against workerd").
// Present only in facts.capnp, never in the deployed Worker. One object per `?id=`.
//
//   GET /ryw?id=                 put (not awaited), then get and get([..]): what they read
//   GET /gate?id=&fail=0|1       put, then (fail=1) a write whose commit fails, then answer
//   GET /read?id=                what the object's storage holds for the gate's key
//   GET /incr?id=&gap=G          v = get(n); [gap]; put(n, v + 1), gap: none | timer | bcw-timer
//   GET /reads?id=&concurrent=   in-memory counter around 8 reads of never-written keys
//                                (allowConcurrency when concurrent=1)
//   GET /count?id=&key=          the counter: storage `n` (key=n) or memory (key=memory)
//   GET /getmany?id=&many=0|1    get([a, b]) (many=1) or get(a) and get(b), of new keys
import { DurableObject } from "cloudflare:workers";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const id = url.searchParams.get("id") ?? "default";
    const stub = env.FACTS.get(env.FACTS.idFromName(id));
    if (url.pathname === "/gate") {
      // As the reference Worker's POST: the call returns only when the object's answer leaves.
      try {
        const answer = await stub.writeThenAnswer(url.searchParams.get("fail") === "1");
        return Response.json({ delivered: true, answer });
      } catch (e) {
        return Response.json({ delivered: false, error: String(e) });
      }
    }
    return stub.fetch(request);
  },
};

export class FactsObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.memory = 0;
  }

  /** Puts the token; with `fail`, also a SQL write that is valid until its commit, where a
   * deferred foreign key fails it. The answer is returned after both writes were issued. */
  async writeThenAnswer(fail) {
    this.ctx.storage.put("authToken", "t1");
    if (fail) {
      const sql = this.ctx.storage.sql;
      sql.exec("CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY)");
      sql.exec("CREATE TABLE IF NOT EXISTS child (pid INTEGER REFERENCES parent(id))");
      sql.exec("PRAGMA defer_foreign_keys = ON");
      sql.exec("INSERT INTO child VALUES (999)");
    }
    return "202";
  }

  async fetch(request) {
    const url = new URL(request.url);
    const q = (k) => url.searchParams.get(k);
    const storage = this.ctx.storage;
    switch (url.pathname) {
      case "/ryw": {
        const wrote = crypto.randomUUID();
        storage.put("ryw", wrote);
        const read = await storage.get("ryw");
        const many = await storage.get(["ryw"]);
        return Response.json({ wrote, read, readMany: many.get("ryw") ?? null });
      }
      case "/read":
        return Response.json({ authToken: (await storage.get("authToken")) ?? null });
      case "/incr": {
        const v = (await storage.get("n")) ?? 0;
        const gap = q("gap");
        if (gap === "timer") await sleep(2);
        if (gap === "bcw-timer") await this.ctx.blockConcurrencyWhile(() => sleep(2));
        storage.put("n", v + 1);
        return Response.json({ v });
      }
      case "/reads": {
        const options = { allowConcurrency: q("concurrent") === "1" };
        const v = this.memory;
        for (let i = 0; i < 8; i++) await storage.get(`absent-${crypto.randomUUID()}`, options);
        this.memory = v + 1;
        return Response.json({ v });
      }
      case "/count":
        return Response.json({
          n: q("key") === "memory" ? this.memory : ((await storage.get("n")) ?? 0),
        });
      case "/getmany": {
        const [a, b] = [`a-${crypto.randomUUID()}`, `b-${crypto.randomUUID()}`];
        if (q("many") === "1") await storage.get([a, b]);
        else await Promise.all([storage.get(a), storage.get(b)]);
        return Response.json({ ok: true });
      }
      default:
        return new Response("not found\n", { status: 404 });
    }
  }
}
