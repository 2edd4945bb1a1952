# workerd configs of the example Worker: `before` (sequential reads) and `after` (Promise.all),
# on 127.0.0.1:8787, objects in memory. With the scenario's latency:
#
#   export HANDSHAKE_SIM_LATENCY="$(handshake-sim dev-latency ../../sims/issue407.toml)"
#   ../../worker/node_modules/.bin/workerd serve config.capnp before    # or: npx workerd …
#   handshake-sim probe http://127.0.0.1:8787 --scenario ../../sims/issue407.toml \
#       --emulate-client-edge --jobs 400 --concurrency 50
#
# Without HANDSHAKE_SIM_LATENCY the objects are plain (storage answers in microseconds).
using Workerd = import "/workerd/workerd.capnp";

const before :Workerd.Config = (
  services = [ (name = "main", worker = .beforeWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const after :Workerd.Config = (
  services = [ (name = "main", worker = .afterWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

# Modules are named as their files in src/ (the first is the entry); the scenario-latency module
# by its package's name, as wrangler resolves it from node_modules. (workerd resolves a bare
# import relative to the importing module too, so the modules stay in one directory.)
const beforeWorker :Workerd.Worker = (
  modules = [
    (name = "before.js", esModule = embed "src/before.js"),
    (name = "worker.js", esModule = embed "src/worker.js"),
    (name = "progress.js", esModule = embed "src/progress.js"),
    (name = "handshake-sim-scenario-latency", esModule = embed "../../scenario-latency/index.js"),
  ],
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [
    (className = "ProgressWebSocketDO", uniqueKey = "handshake-sim-example-407-before"),
  ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "PROGRESS", durableObjectNamespace = "ProgressWebSocketDO"),
    (name = "HANDSHAKE_SIM_LATENCY", fromEnvironment = "HANDSHAKE_SIM_LATENCY"),
  ],
);

const afterWorker :Workerd.Worker = (
  modules = [
    (name = "after.js", esModule = embed "src/after.js"),
    (name = "worker.js", esModule = embed "src/worker.js"),
    (name = "progress.js", esModule = embed "src/progress.js"),
    (name = "handshake-sim-scenario-latency", esModule = embed "../../scenario-latency/index.js"),
  ],
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [
    (className = "ProgressWebSocketDO", uniqueKey = "handshake-sim-example-407-after"),
  ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "PROGRESS", durableObjectNamespace = "ProgressWebSocketDO"),
    (name = "HANDSHAKE_SIM_LATENCY", fromEnvironment = "HANDSHAKE_SIM_LATENCY"),
  ],
);
