# workerd configs of the reference Worker and its Durable Object, on 127.0.0.1:8788.
#
#   cd worker && npm ci
#   VARIANT=sequential HANDSHAKE_SIM_LATENCY="$(handshake-sim dev-latency ../sims/workerd.toml)" \
#       npx workerd serve config.capnp config
#
# HANDSHAKE_SIM_LATENCY (unset: none) gives the objects the scenario's storage latency and cold
# starts, through the scenario-latency module (../scenario-latency, README "Catch it in dev").
#
# `config` (the default) keeps the objects in memory: workerd's ActorCache, the KV cache layer
# of production's KV-backed objects, over a store that never flushes, so nothing is committed
# and the output gate is never held; reads of keys never written are real asynchronous I/O.
# Its objects are never evicted (an eviction would drop their storage): the Worker forgets jobs
# itself, by JOB_RETENTION_MS and MAX_JOBS (src/retention.js).
# `diskConfig` stores them in SQLite files under the `do-storage` directory: each put's commit
# holds the output gate, as in production, and costs an fsync (tens of ms on a slow disk):
#
#   mkdir -p /tmp/hs-worker-state
#   npx workerd serve config.capnp diskConfig -d do-storage=/tmp/hs-worker-state
#
# Settings come from the environment (unset = the default in src/settings.js). `--socket-addr
# http=127.0.0.1:PORT` moves the listener (tests/it/workerd.rs uses port 0 and --control-fd).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .memoryWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8788", http = (), service = "main") ],
);

const diskConfig :Workerd.Config = (
  services = [
    (name = "main", worker = .diskWorker),
    (name = "do-storage", disk = (path = "/tmp/hs-worker-state", writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8788", http = (), service = "main") ],
);

# The scenario-latency module under the name the Worker imports it by (its package's name, as
# wrangler resolves it from node_modules).
const modules :List(Workerd.Worker.Module) = [
  (name = "index.js", esModule = embed "src/index.js"),
  (name = "retention.js", esModule = embed "src/retention.js"),
  (name = "settings.js", esModule = embed "src/settings.js"),
  (name = "handshake-sim-scenario-latency", esModule = embed "../scenario-latency/index.js"),
];

const memoryWorker :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  # preventEviction: workerd's eviction of an idle object drops its in-memory storage (a
  # finished job's token stopped working after 20–45 s idle); the Worker forgets jobs itself
  # (src/retention.js), and an object without a job leaves memory once idle.
  durableObjectNamespaces = [
    (className = "JobObject", uniqueKey = "handshake-sim-reference-job-object",
     preventEviction = true),
    (className = "JobRegistry", uniqueKey = "handshake-sim-reference-job-registry",
     preventEviction = true),
  ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "JOBS", durableObjectNamespace = "JobObject"),
    (name = "REGISTRY", durableObjectNamespace = "JobRegistry"),
    (name = "VARIANT", fromEnvironment = "VARIANT"),
    (name = "HANDSHAKE_SIM_LATENCY", fromEnvironment = "HANDSHAKE_SIM_LATENCY"),
    (name = "BOOK_MS", fromEnvironment = "BOOK_MS"),
    (name = "TOKEN_TTL_MS", fromEnvironment = "TOKEN_TTL_MS"),
    (name = "JOB_RETENTION_MS", fromEnvironment = "JOB_RETENTION_MS"),
    (name = "MAX_JOBS", fromEnvironment = "MAX_JOBS"),
  ],
);

const diskWorker :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [
    (className = "JobObject", uniqueKey = "handshake-sim-reference-job-object"),
    (className = "JobRegistry", uniqueKey = "handshake-sim-reference-job-registry"),
  ],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [
    (name = "JOBS", durableObjectNamespace = "JobObject"),
    (name = "REGISTRY", durableObjectNamespace = "JobRegistry"),
    (name = "VARIANT", fromEnvironment = "VARIANT"),
    (name = "HANDSHAKE_SIM_LATENCY", fromEnvironment = "HANDSHAKE_SIM_LATENCY"),
    (name = "BOOK_MS", fromEnvironment = "BOOK_MS"),
    (name = "TOKEN_TTL_MS", fromEnvironment = "TOKEN_TTL_MS"),
    (name = "JOB_RETENTION_MS", fromEnvironment = "JOB_RETENTION_MS"),
    (name = "MAX_JOBS", fromEnvironment = "MAX_JOBS"),
  ],
);
