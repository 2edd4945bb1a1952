# workerd config of the model-fact checks (tests/it/workerd.rs), never deployed: the same
# FactsObject on workerd's two local storage back-ends. `disk` (localDisk: SQLite files, commits
# hold the output gate) and `memory` (inMemory: ActorCache, the production KV cache layer, over
# an empty store that never flushes).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "facts-disk", worker = .factsDisk),
    (name = "facts-memory", worker = .factsMemory),
    (name = "facts-storage", disk = (path = "/tmp/hs-facts-state", writable = true)),
  ],
  sockets = [
    (name = "disk", address = "127.0.0.1:8790", http = (), service = "facts-disk"),
    (name = "memory", address = "127.0.0.1:8791", http = (), service = "facts-memory"),
  ],
);

const factsDisk :Workerd.Worker = (
  modules = [ (name = "facts.js", esModule = embed "facts.js") ],
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [
    (className = "FactsObject", uniqueKey = "handshake-sim-facts-disk", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "facts-storage"),
  bindings = [ (name = "FACTS", durableObjectNamespace = "FactsObject") ],
);

const factsMemory :Workerd.Worker = (
  modules = [ (name = "facts.js", esModule = embed "facts.js") ],
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [
    (className = "FactsObject", uniqueKey = "handshake-sim-facts-memory"),
  ],
  durableObjectStorage = (inMemory = void),
  bindings = [ (name = "FACTS", durableObjectNamespace = "FactsObject") ],
);
