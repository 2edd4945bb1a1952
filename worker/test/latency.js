// The scenario-latency module's own checks in workerd (tests/it/workerd/latency.rs), never
// deployed. The same Probe class four ways (test/latency.capnp): wrapped with a fixed latency
// (`wrapped`), wrapped with a cold start (`cold`), wrapped without the binding (`disabled`), and
// plain (`plain`). One object per `?id=`.
//
//   GET /overlap?id=     two gets of new keys together, then two in a row: { together, inRow } ms
//   GET /many?id=        one get([a, b]) of new keys: { ms }
//   GET /incr?id=        v = memory; get(new key); memory = v + 1 (lost updates if the gate opens)
//   GET /count?id=       { n: memory }
//   GET /native?id=      whether ctx and ctx.storage are the runtime's own objects
//   GET /script?id=      a fixed script of puts, deletes, gets and a transaction: what it read,
//                        and what storage holds after it
//   GET /put-token?id=   put("token", "t")
//   GET /get-token?id=   get("token"): { token, ms }
//   GET /ping?id=        {}
import { DurableObject } from "cloudflare:workers";
import { withScenarioLatency } from "scenario-latency.js";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const id = url.searchParams.get("id") ?? "default";
    try {
      return await env.PROBE.get(env.PROBE.idFromName(id)).fetch(request);
    } catch (e) {
      return Response.json({ error: String(e) }, { status: 500 });
    }
  },
};

/** The probe's code on any base class: `DurableObject`, or `withScenarioLatency(DurableObject)`
 * (the module's other form: the base wrapped, the class itself unchanged). */
const probeOn = (Base) => class extends Base {
  constructor(ctx, env) {
    super(ctx, env);
    this.memory = 0;
    this.given = ctx;
  }

  async fetch(request) {
    const url = new URL(request.url);
    const storage = this.ctx.storage;
    const fresh = () => `k-${crypto.randomUUID()}`;
    switch (url.pathname) {
      case "/overlap": {
        const t0 = Date.now();
        await Promise.all([storage.get(fresh()), storage.get(fresh())]);
        const t1 = Date.now();
        await storage.get(fresh());
        await storage.get(fresh());
        return Response.json({ together: t1 - t0, inRow: Date.now() - t1 });
      }
      case "/many": {
        const t0 = Date.now();
        await storage.get([fresh(), fresh()]);
        return Response.json({ ms: Date.now() - t0 });
      }
      case "/incr": {
        const v = this.memory;
        await storage.get(fresh());
        this.memory = v + 1;
        return Response.json({ v });
      }
      case "/count":
        return Response.json({ n: this.memory });
      case "/native": {
        const ctx = this.given;
        return Response.json({
          ctx: ctx.blockConcurrencyWhile === Object.getPrototypeOf(ctx).blockConcurrencyWhile,
          storage: ctx.storage.get === Object.getPrototypeOf(ctx.storage).get,
        });
      }
      case "/script": {
        await storage.put("a", 1);
        storage.put({ b: 2, c: [3, { d: 4 }] });
        const early = await storage.get(["a", "b", "c"]);
        await storage.delete("b");
        await storage.transaction(async (txn) => {
          const a = await txn.get("a");
          await txn.put("a", a + 10);
        });
        const one = await storage.get("a");
        const listed = await storage.list();
        return Response.json({
          early: Object.fromEntries(early),
          one,
          listed: Object.fromEntries(listed),
        });
      }
      case "/put-token":
        await storage.put("token", "t");
        return Response.json({});
      case "/get-token": {
        const t0 = Date.now();
        const token = await storage.get("token");
        return Response.json({ token, ms: Date.now() - t0 });
      }
      case "/ping":
        return Response.json({});
      default:
        return new Response("no such path\n", { status: 404 });
    }
  }
};

export class Probe extends probeOn(DurableObject) {}

export const Wrapped = withScenarioLatency(Probe);

export class Based extends probeOn(withScenarioLatency(DurableObject)) {}
