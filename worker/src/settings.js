// The reference Worker's settings: vars (wrangler.toml) or environment bindings (config.capnp),
// each checked; docs/runtime.md, "The reference Worker in workerd", lists them.

const VARIANTS = ["sequential", "parallel", "batched", "memory-cache"];

function intVar(env, name, fallback, max, min = 0) {
  const raw = env[name];
  if (raw === undefined || raw === null || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new Error(`${name} must be an integer in ${min}..=${max}, not ${JSON.stringify(raw)}`);
  }
  return v;
}

/** The settings from the environment; a bad value is a configuration error (thrown). */
export function settings(env) {
  const variant = env.VARIANT || "parallel";
  if (!VARIANTS.includes(variant)) {
    throw new Error(`VARIANT must be one of ${VARIANTS.join(", ")}, not ${JSON.stringify(variant)}`);
  }
  for (const gone of ["READ_MS_MIN", "READ_MS_MAX"]) {
    if (env[gone] !== undefined && env[gone] !== null && env[gone] !== "") {
      throw new Error(
        `${gone} is no longer read: storage latency comes from HANDSHAKE_SIM_LATENCY ` +
          "(`handshake-sim dev-latency SCENARIO`), the scenario-latency module's binding",
      );
    }
  }
  const hour = 3600000;
  return {
    variant,
    bookMs: intVar(env, "BOOK_MS", 100, hour),
    tokenTtlMs: intVar(env, "TOKEN_TTL_MS", 2 * hour, 7 * 24 * hour),
    // serve's --job-retention-s and --max-jobs: the same defaults and ranges.
    jobRetentionMs: intVar(env, "JOB_RETENTION_MS", 600000, 7 * 24 * hour),
    maxJobs: intVar(env, "MAX_JOBS", 20000, 2000000, 1),
  };
}
