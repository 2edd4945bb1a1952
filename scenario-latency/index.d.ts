// Types of handshake-sim's scenario-latency module (index.js).

/** A class of Durable Object: constructed by the runtime with its state and environment. */
export type DurableObjectClass<T> = new (ctx: any, env: any, ...rest: any[]) => T;

/**
 * `Base` with the scenario's storage latency and cold start when the environment has the
 * binding `HANDSHAKE_SIM_LATENCY` (the JSON `handshake-sim dev-latency SCENARIO` writes);
 * without it, `Base`'s objects get their `ctx` unchanged.
 */
export function withScenarioLatency<T, C extends DurableObjectClass<T>>(Base: C): C;

/** A malformed `HANDSHAKE_SIM_LATENCY`: `field` names the part that is wrong. */
export class LatencyConfigError extends Error {
  readonly field: string;
}

/** A distribution as a scenario writes it. */
export type Distribution =
  | { constant: number }
  | { uniform: [number, number] }
  | { normal: { mean: number; sd: number } }
  | { lognormal: { median: number; p99: number } }
  | { empirical: number[] };

/** The configuration `handshake-sim dev-latency` writes. */
export interface LatencyConfig {
  format: "handshake-sim-latency/1";
  scenario: string;
  seed: number;
  storage: {
    backend: "kv" | "sqlite";
    read_ms: Distribution;
    cached_read_ms: Distribution;
    write_ms: Distribution;
    put_populates_cache: boolean;
  };
  object: {
    cold_start_ms: Distribution;
    input_gate: boolean;
    restart_probability: number;
    hibernate_after_idle_ms: number;
  };
  spikes: { probability: number; ms: Distribution };
}

/** The checked model of a configuration (JSON text or object); `null` when absent or empty. */
export function parseLatencyConfig(raw: string | LatencyConfig | null | undefined): object | null;
