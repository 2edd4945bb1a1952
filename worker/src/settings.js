// The reference Worker's settings: vars (wrangler.toml) or environment bindings (config.capnp),
// each checked; README, "The reference Worker in workerd", lists them.

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
  const hour = 3600000;
  const readMin = intVar(env, "READ_MS_MIN", 0, hour);
  const readMax = intVar(env, "READ_MS_MAX", readMin, hour);
  if (readMax < readMin) throw new Error(`READ_MS_MAX ${readMax} < READ_MS_MIN ${readMin}`);
  return {
    variant,
    readMin,
    readMax,
    bookMs: intVar(env, "BOOK_MS", 100, hour),
    tokenTtlMs: intVar(env, "TOKEN_TTL_MS", 2 * hour, 7 * 24 * hour),
    // serve's --job-retention-s and --max-jobs: the same defaults and ranges.
    jobRetentionMs: intVar(env, "JOB_RETENTION_MS", 600000, 7 * 24 * hour),
    maxJobs: intVar(env, "MAX_JOBS", 20000, 2000000, 1),
  };
}
