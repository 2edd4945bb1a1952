// handshake-sim's scenario latency for a real Durable Object in workerd or `wrangler dev`.
//
//   export const JobObject = withScenarioLatency(MyJobObject);
//
// With the binding HANDSHAKE_SIM_LATENCY (the JSON `handshake-sim dev-latency SCENARIO` writes)
// every storage round trip of the object waits a latency drawn from the scenario's
// distributions, and the object's first event waits its cold start. Without the binding the
// class is used as it is: the constructor hands the object its own `ctx`, untouched.
//
// Restarts: before each `fetch` into the object (not its first event), the object restarts with
// the scenario's `object.restart_probability`, and loses its memory after
// `object.hibernate_after_idle_ms` of idle time: the model's memory (which keys a read finds
// cached) is emptied and the event waits a cold start with the input gate held. The object's
// own fields survive (the module cannot restart the real instance): a class that keeps the
// token in a field (the `memory-cache` variant) stays warm where the simulation's goes cold.
//
// What is delayed, and how (docs/runtime.md, "Catch it in dev"):
// - a read (`get` of one key or of an array: one operation, as workerd counts it; `list`) waits
//   `storage.read_ms` (+ a spike), or `storage.cached_read_ms` when every key it reads was read
//   or written before by this instance of the object (the model's in-memory cache; a cold start
//   empties it). While any read is in flight the object's input gate is closed, as a production
//   read closes it, and reads in flight together overlap: two gets started together cost the
//   slower, two in a row the sum. (A `blockConcurrencyWhile` per read would serialise a
//   `Promise.all` of two gets, which would make the fix look exactly like the bug.)
// - a write (`put`, `delete`, `deleteAll`, a `transaction`) is issued at once, so the object's
//   own reads see it as in workerd, and its promise resolves after `storage.write_ms` (+ a
//   spike). Code that does not await a write does not wait: workerd's output gate, which holds a
//   response until the commit, is not lengthened.
// - the `sql` API is synchronous and is not delayed (SQLite reads are local in the model too).
// - the values read and stored are never changed, only when the promise resolves.
//
// Draws come from a generator seeded by (seed, object id, purpose, index): the same object sees
// the same latencies in every run with the same seed. They follow the scenario's distributions,
// but they are not the simulation's draws (a different generator).

const FORMAT = "handshake-sim-latency/1";
const BINDING = "HANDSHAKE_SIM_LATENCY";
// The scenario's own caps (src/scenario/dist.rs).
const LATENCY_MS_MAX = 3600000;
const EMPIRICAL_SAMPLES_MAX = 100000;
const NORMAL_RESAMPLES_MAX = 64;
// The standard normal's 99th percentile: a lognormal is given by its median and p99.
const Z_P99 = 2.3263478740408408;

const PURPOSE = { read: 1, cachedRead: 2, write: 3, spike: 4, spikeMs: 5, coldStart: 6, restart: 7 };

/** A configuration error: the message names the field. */
export class LatencyConfigError extends Error {
  constructor(field, message) {
    super(`${BINDING}: ${field}: ${message}`);
    this.name = "LatencyConfigError";
    this.field = field;
  }
}

function finiteMs(field, v) {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new LatencyConfigError(field, `expected a number of ms, got ${JSON.stringify(v)}`);
  }
  if (v < 0) throw new LatencyConfigError(field, `${v} is negative; latencies are >= 0 ms`);
  if (v > LATENCY_MS_MAX) {
    throw new LatencyConfigError(field, `${v} exceeds the limit of ${LATENCY_MS_MAX} ms`);
  }
  return v;
}

/** A distribution as the scenario writes it ({ constant }, { uniform }, { normal },
 * { lognormal }, { empirical }), checked as the scenario checks it; a sampler of ms. */
export function distribution(field, d) {
  if (d === null || typeof d !== "object" || Array.isArray(d)) {
    throw new LatencyConfigError(field, `expected a distribution object, got ${JSON.stringify(d)}`);
  }
  const kinds = Object.keys(d);
  if (kinds.length !== 1) {
    throw new LatencyConfigError(field, `expected one kind of distribution, got ${JSON.stringify(kinds)}`);
  }
  const [kind] = kinds;
  const v = d[kind];
  switch (kind) {
    case "constant": {
      const c = finiteMs(`${field}.constant`, v);
      return () => c;
    }
    case "uniform": {
      if (!Array.isArray(v) || v.length !== 2) {
        throw new LatencyConfigError(`${field}.uniform`, "expected [LOW, HIGH]");
      }
      const lo = finiteMs(`${field}.uniform.0`, v[0]);
      const hi = finiteMs(`${field}.uniform.1`, v[1]);
      if (lo > hi) throw new LatencyConfigError(`${field}.uniform`, `min ${lo} > max ${hi}`);
      return (rng) => lo + rng() * (hi - lo);
    }
    case "normal": {
      const mean = finiteMs(`${field}.normal.mean`, v?.mean);
      const sd = finiteMs(`${field}.normal.sd`, v?.sd);
      return (rng) => {
        for (let i = 0; i < NORMAL_RESAMPLES_MAX; i++) {
          const x = mean + sd * standardNormal(rng);
          if (x >= 0) return x;
        }
        return 0;
      };
    }
    case "lognormal": {
      const median = finiteMs(`${field}.lognormal.median`, v?.median);
      const p99 = finiteMs(`${field}.lognormal.p99`, v?.p99);
      if (median <= 0) throw new LatencyConfigError(`${field}.lognormal.median`, "must be > 0");
      if (p99 < median) {
        throw new LatencyConfigError(`${field}.lognormal`, `p99 ${p99} < median ${median}`);
      }
      const sigma = (Math.log(p99) - Math.log(median)) / Z_P99;
      return (rng) => Math.exp(Math.log(median) + sigma * standardNormal(rng));
    }
    case "empirical": {
      if (!Array.isArray(v) || v.length === 0) {
        throw new LatencyConfigError(`${field}.empirical`, "needs at least one sample");
      }
      if (v.length > EMPIRICAL_SAMPLES_MAX) {
        throw new LatencyConfigError(
          `${field}.empirical`,
          `${v.length} samples exceed the limit of ${EMPIRICAL_SAMPLES_MAX}`,
        );
      }
      const samples = v.map((x, i) => finiteMs(`${field}.empirical.${i}`, x));
      return (rng) => samples[Math.floor(rng() * samples.length)];
    }
    default:
      throw new LatencyConfigError(
        field,
        `unknown distribution kind ${JSON.stringify(kind)}; expected constant, uniform, normal, lognormal or empirical`,
      );
  }
}

function probability(field, v) {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 1) {
    throw new LatencyConfigError(field, `expected a probability in 0..=1, got ${JSON.stringify(v)}`);
  }
  return v;
}

function idleMs(field, v) {
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new LatencyConfigError(field, `expected an integer of ms >= 1, got ${JSON.stringify(v)}`);
  }
  return v;
}

function section(obj, field) {
  const v = obj?.[field];
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new LatencyConfigError(field, "missing (expected an object)");
  }
  return v;
}

/** The binding's value (JSON text, or the object a `json` binding gives) checked into the
 * latency model; `null` when the binding is absent or empty. Throws LatencyConfigError. */
export function parseLatencyConfig(raw) {
  if (raw === undefined || raw === null || raw === "") return null;
  let c = raw;
  if (typeof raw === "string") {
    try {
      c = JSON.parse(raw);
    } catch (e) {
      throw new LatencyConfigError("(the whole value)", `not JSON: ${e.message}`);
    }
  }
  if (c === null || typeof c !== "object" || Array.isArray(c)) {
    throw new LatencyConfigError("(the whole value)", "expected an object");
  }
  if (c.format !== FORMAT) {
    throw new LatencyConfigError("format", `expected ${JSON.stringify(FORMAT)}, got ${JSON.stringify(c.format)}`);
  }
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) {
    throw new LatencyConfigError("seed", `expected an integer >= 0, got ${JSON.stringify(c.seed)}`);
  }
  const storage = section(c, "storage");
  const object = section(c, "object");
  const spikes = section(c, "spikes");
  if (storage.backend !== "kv" && storage.backend !== "sqlite") {
    throw new LatencyConfigError("storage.backend", `expected "kv" or "sqlite", got ${JSON.stringify(storage.backend)}`);
  }
  if (typeof storage.put_populates_cache !== "boolean") {
    throw new LatencyConfigError("storage.put_populates_cache", "expected true or false");
  }
  if (typeof object.input_gate !== "boolean") {
    throw new LatencyConfigError("object.input_gate", "expected true or false");
  }
  return {
    scenario: typeof c.scenario === "string" ? c.scenario : "",
    seed: c.seed,
    sqlite: storage.backend === "sqlite",
    readMs: distribution("storage.read_ms", storage.read_ms),
    cachedReadMs: distribution("storage.cached_read_ms", storage.cached_read_ms),
    writeMs: distribution("storage.write_ms", storage.write_ms),
    putPopulatesCache: storage.put_populates_cache,
    coldStartMs: distribution("object.cold_start_ms", object.cold_start_ms),
    inputGate: object.input_gate,
    restartProbability: probability("object.restart_probability", object.restart_probability),
    idleMemoryLossMs: idleMs("object.hibernate_after_idle_ms", object.hibernate_after_idle_ms),
    spikeProbability: probability("spikes.probability", spikes.probability),
    spikeMs: distribution("spikes.ms", spikes.ms),
  };
}

// ---- the generator -------------------------------------------------------------------------

/** FNV-1a, 32 bits, of a string. */
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** sfc32: a small generator of uniform numbers in [0, 1), seeded from a key. */
function generator(key) {
  let a = fnv1a(`a:${key}`);
  let b = fnv1a(`b:${key}`);
  let c = fnv1a(`c:${key}`);
  let d = 1;
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

function standardNormal(rng) {
  // Box–Muller; 1 - u keeps the logarithm finite.
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The draws of one object: each (purpose, index) its own generator, so a draw does not depend
 * on how many others came before it of another purpose. */
export class Draws {
  constructor(seed, objectKey) {
    this.prefix = `${seed}:${objectKey}`;
    this.counts = new Map();
  }

  /** The next index of `purpose` (0, 1, …). */
  index(purpose) {
    const i = this.counts.get(purpose) ?? 0;
    this.counts.set(purpose, i + 1);
    return i;
  }

  rng(purpose, index) {
    return generator(`${this.prefix}:${purpose}:${index}`);
  }

  ms(dist, purpose, index) {
    return Math.min(LATENCY_MS_MAX, Math.max(0, dist(this.rng(purpose, index))));
  }

  chance(p, purpose, index) {
    return p > 0 && this.rng(purpose, index)() < p;
  }
}

// ---- the input gate ------------------------------------------------------------------------

/** Holds the object's input gate while any delayed read is in flight, and lets the reads in
 * flight overlap. One `blockConcurrencyWhile` is opened by the first read and closed by the
 * last; the reads' timers are started inside it, because a timer started outside a critical
 * section cannot fire while the section holds the gate (the read would never end). */
class Gate {
  constructor(ctx) {
    this.ctx = ctx;
    this.inFlight = 0;
    this.start = null; // starts a timer inside the held section, while it is held
    this.waiting = [];
  }

  /** Resolves after `ms` with the gate held meanwhile. */
  hold(ms) {
    return new Promise((resolve) => {
      this.inFlight += 1;
      if (this.start) {
        this.start(ms, resolve);
        return;
      }
      this.waiting.push([ms, resolve]);
      if (this.inFlight === 1) this.open();
    });
  }

  open() {
    this.ctx.blockConcurrencyWhile(
      () =>
        new Promise((release) => {
          this.start = (ms, resolve) =>
            setTimeout(() => {
              resolve();
              this.inFlight -= 1;
              if (this.inFlight === 0) {
                this.start = null;
                release();
              }
            }, ms);
          for (const [ms, resolve] of this.waiting.splice(0)) this.start(ms, resolve);
        }),
    );
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the storage -----------------------------------------------------------------------------

function keysOf(keys) {
  return Array.isArray(keys) ? keys : [keys];
}

/** The object's storage with the scenario's latency: the same methods, the same results. */
function delayedStorage(storage, model, life) {
  const { cached, draws, gate } = life;
  const spike = () => {
    const i = draws.index(PURPOSE.spike);
    return draws.chance(model.spikeProbability, PURPOSE.spike, i)
      ? draws.ms(model.spikeMs, PURPOSE.spikeMs, i)
      : 0;
  };
  const readDelay = (keys) => {
    if (model.sqlite || (keys !== null && keys.every((k) => cached.has(k)))) {
      return draws.ms(model.cachedReadMs, PURPOSE.cachedRead, draws.index(PURPOSE.cachedRead));
    }
    return draws.ms(model.readMs, PURPOSE.read, draws.index(PURPOSE.read)) + spike();
  };
  const writeDelay = () => draws.ms(model.writeMs, PURPOSE.write, draws.index(PURPOSE.write)) + spike();
  // A delay of 0 ms (a cached read at the default cached_read_ms) waits for no timer and takes
  // no gate of its own: a workerd timer at 0 ms still costs a turn of the event loop (100 of
  // them took 10 ms), time the model does not have.
  const wait = (ms, options) => {
    life.fresh = false;
    if (ms <= 0) return Promise.resolve();
    return model.inputGate && !options?.allowConcurrency ? gate.hold(ms) : sleep(ms);
  };
  const writeWait = () => {
    const ms = writeDelay();
    return ms <= 0 ? Promise.resolve() : sleep(ms);
  };
  const remember = (keys) => keys.forEach((k) => cached.add(k));
  const written = (keys) => {
    if (model.putPopulatesCache) remember(keys);
    else keys.forEach((k) => cached.delete(k));
  };
  // The real operation is issued at once (what it reads or writes is as of now); the caller
  // gets its result once both it and the delay are done.
  const after = async (delay, real) => {
    const [value] = await Promise.all([real, delay]);
    return value;
  };
  const methods = {
    get(keys, options) {
      const ks = keysOf(keys);
      const delay = wait(readDelay(ks), options);
      return after(delay, storage.get(keys, options)).then((v) => {
        remember(ks);
        return v;
      });
    },
    list(options) {
      return after(wait(readDelay(null), options), storage.list(options));
    },
    put(keyOrEntries, value, options) {
      life.fresh = false;
      const ks = typeof keyOrEntries === "string" ? [keyOrEntries] : Object.keys(keyOrEntries);
      const real = storage.put(keyOrEntries, value, options);
      written(ks);
      return after(writeWait(), real);
    },
    delete(keys, options) {
      life.fresh = false;
      const real = storage.delete(keys, options);
      written(keysOf(keys));
      return after(writeWait(), real);
    },
    deleteAll(options) {
      life.fresh = false;
      const real = storage.deleteAll(options);
      cached.clear();
      return after(writeWait(), real);
    },
    transaction(closure) {
      life.fresh = false;
      return after(writeWait(), storage.transaction(closure));
    },
  };
  return new Proxy(storage, {
    get(target, prop) {
      if (Object.hasOwn(methods, prop) && typeof target[prop] === "function") return methods[prop];
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** One instance's life as the model sees it: its draws, its gate, which keys its memory holds,
 * whether nothing has happened since it started cold, and when its last event began. */
class Life {
  constructor(ctx, model) {
    this.model = model;
    this.ctx = ctx;
    this.draws = new Draws(model.seed, ctx.id?.toString?.() ?? "object");
    this.gate = new Gate(ctx);
    this.cached = new Set();
    this.fresh = true;
    this.lastEventMs = Date.now();
  }

  coldStartMs() {
    return this.draws.ms(this.model.coldStartMs, PURPOSE.coldStart, this.draws.index(PURPOSE.coldStart));
  }

  /** Before a `fetch` into the object: a restart (the scenario's `restart_probability`), or
   * memory lost to an idle time past `hibernate_after_idle_ms`, empties the memory and costs a
   * cold start, with the input gate held. An instance started cold for this very event (nothing
   * happened since) is not restarted again. */
  beforeFetch() {
    const idleMs = Date.now() - this.lastEventMs;
    this.lastEventMs = Date.now();
    if (this.fresh) {
      this.fresh = false;
      return Promise.resolve();
    }
    const i = this.draws.index(PURPOSE.restart);
    const restarted = this.draws.chance(this.model.restartProbability, PURPOSE.restart, i);
    if (!restarted && idleMs < this.model.idleMemoryLossMs) return Promise.resolve();
    this.cached.clear();
    return this.gate.hold(this.coldStartMs());
  }
}

/** `ctx` (or the older `state`) with its `storage` delayed: the same object (the runtime's
 * `DurableObject` base class accepts only its own), given an own `storage` property that
 * shadows the runtime's getter; everything else on it is untouched. */
function delayContext(ctx, life) {
  const storage = delayedStorage(ctx.storage, life.model, life);
  const cold = life.coldStartMs();
  if (cold > 0) ctx.blockConcurrencyWhile(() => sleep(cold));
  Object.defineProperty(ctx, "storage", { value: storage, configurable: true, enumerable: true });
  return ctx;
}

/**
 * The Durable Object class `Base` with the scenario's storage latency and cold start, when the
 * environment has HANDSHAKE_SIM_LATENCY; otherwise `Base`'s objects get their `ctx` unchanged.
 * A malformed configuration throws LatencyConfigError from the object's constructor (its first
 * request fails, naming the field), never a silent zero latency.
 */
export function withScenarioLatency(Base) {
  const Wrapped = class extends Base {
    constructor(ctx, env, ...rest) {
      const model = parseLatencyConfig(env?.[BINDING]);
      const life = model === null ? null : new Life(ctx, model);
      super(life === null ? ctx : delayContext(ctx, life), env, ...rest);
      if (life !== null && typeof this.fetch === "function") {
        const fetch = this.fetch;
        this.fetch = (...args) => life.beforeFetch().then(() => fetch.apply(this, args));
      }
    }
  };
  Object.defineProperty(Wrapped, "name", { value: Base.name });
  return Wrapped;
}
