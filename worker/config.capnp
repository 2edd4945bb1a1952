# workerd config: the reference Worker and its Durable Object on 127.0.0.1:8788.
#
#   cd worker && npm ci
#   mkdir -p /tmp/hs-worker-state
#   VARIANT=sequential READ_MS_MIN=50 READ_MS_MAX=100 \
#     npx workerd serve config.capnp -d do-storage=/tmp/hs-worker-state
#
# Settings come from the environment (unset = the default in src/index.js). Objects are stored
# in SQLite files under the `do-storage` directory (workerd's local storage: a put's commit
# holds the object's output gate, as in production).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .referenceWorker),
    (name = "do-storage", disk = (path = "/tmp/hs-worker-state", writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8788", http = (), service = "main") ],
);

const referenceWorker :Workerd.Worker = (
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
