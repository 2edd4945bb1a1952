# workerd configs of the reference Worker and its Durable Object, on 127.0.0.1:8788.
#
#   cd worker && npm ci
#   VARIANT=sequential READ_MS_MIN=50 READ_MS_MAX=100 npx workerd serve config.capnp config
#
# `config` (the default) keeps the objects in memory: workerd's ActorCache, the KV cache layer
# of production's KV-backed objects, over a store that never flushes, so nothing is committed
# and the output gate is never held; reads of keys never written are real asynchronous I/O.
# `diskConfig` stores them in SQLite files under the `do-storage` directory: each put's commit
# holds the output gate, as in production, and costs an fsync (tens of ms on a slow disk):
#
#   mkdir -p /tmp/hs-worker-state
#   npx workerd serve config.capnp diskConfig -d do-storage=/tmp/hs-worker-state
#
# Settings come from the environment (unset = the default in src/index.js). `--socket-addr
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

const memoryWorker :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "src/index.js") ],
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [
    (className = "JobObject", uniqueKey = "handshake-sim-reference-job-object"),
  ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "JOBS", durableObjectNamespace = "JobObject"),
    (name = "VARIANT", fromEnvironment = "VARIANT"),
    (name = "READ_MS_MIN", fromEnvironment = "READ_MS_MIN"),
    (name = "READ_MS_MAX", fromEnvironment = "READ_MS_MAX"),
    (name = "BOOK_MS", fromEnvironment = "BOOK_MS"),
    (name = "TOKEN_TTL_MS", fromEnvironment = "TOKEN_TTL_MS"),
  ],
);

const diskWorker :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "src/index.js") ],
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [
    (className = "JobObject", uniqueKey = "handshake-sim-reference-job-object"),
  ],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [
    (name = "JOBS", durableObjectNamespace = "JobObject"),
    (name = "VARIANT", fromEnvironment = "VARIANT"),
    (name = "READ_MS_MIN", fromEnvironment = "READ_MS_MIN"),
    (name = "READ_MS_MAX", fromEnvironment = "READ_MS_MAX"),
    (name = "BOOK_MS", fromEnvironment = "BOOK_MS"),
    (name = "TOKEN_TTL_MS", fromEnvironment = "TOKEN_TTL_MS"),
  ],
);
