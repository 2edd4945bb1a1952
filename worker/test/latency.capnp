# workerd config of the scenario-latency module's checks (tests/it/workerd/latency.rs), never
# deployed: test/latency.js's Probe wrapped with fixed latencies (reads 500 ms, so the timing
# checks hold with up to 500 ms of timer lateness on a loaded machine), the same without the
# input gate, with a cold start, with no binding, with a malformed binding, and plain.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "wrapped", worker = .wrapped),
    (name = "cold", worker = .cold),
    (name = "disabled", worker = .disabled),
    (name = "malformed", worker = .malformed),
    (name = "plain", worker = .plain),
    (name = "gateoff", worker = .gateoff),
    (name = "restart", worker = .restart),
    (name = "exported", worker = .exported),
    (name = "based", worker = .based),
  ],
  sockets = [
    (name = "wrapped", address = "127.0.0.1:8793", http = (), service = "wrapped"),
    (name = "cold", address = "127.0.0.1:8794", http = (), service = "cold"),
    (name = "disabled", address = "127.0.0.1:8795", http = (), service = "disabled"),
    (name = "malformed", address = "127.0.0.1:8796", http = (), service = "malformed"),
    (name = "plain", address = "127.0.0.1:8798", http = (), service = "plain"),
    (name = "gateoff", address = "127.0.0.1:8799", http = (), service = "gateoff"),
    (name = "restart", address = "127.0.0.1:8800", http = (), service = "restart"),
    (name = "exported", address = "127.0.0.1:8801", http = (), service = "exported"),
    (name = "based", address = "127.0.0.1:8802", http = (), service = "based"),
  ],
);

const modules :List(Workerd.Worker.Module) = [
  (name = "latency.js", esModule = embed "latency.js"),
  (name = "scenario-latency.js", esModule = embed "../../scenario-latency/index.js"),
];

const wrapped :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Wrapped", uniqueKey = "hs-latency-wrapped") ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "PROBE", durableObjectNamespace = "Wrapped"),
    (name = "HANDSHAKE_SIM_LATENCY", json = "{\"format\":\"handshake-sim-latency/1\",\"scenario\":\"test\",\"seed\":1,\"storage\":{\"backend\":\"kv\",\"read_ms\":{\"constant\":500},\"cached_read_ms\":{\"constant\":0},\"write_ms\":{\"constant\":20},\"put_populates_cache\":true},\"object\":{\"cold_start_ms\":{\"constant\":0},\"input_gate\":true,\"restart_probability\":0,\"hibernate_after_idle_ms\":10000},\"spikes\":{\"probability\":0,\"ms\":{\"constant\":0}}}"),
  ],
);

const cold :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Wrapped", uniqueKey = "hs-latency-cold") ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "PROBE", durableObjectNamespace = "Wrapped"),
    (name = "HANDSHAKE_SIM_LATENCY", json = "{\"format\":\"handshake-sim-latency/1\",\"scenario\":\"test\",\"seed\":1,\"storage\":{\"backend\":\"kv\",\"read_ms\":{\"constant\":0},\"cached_read_ms\":{\"constant\":0},\"write_ms\":{\"constant\":0},\"put_populates_cache\":true},\"object\":{\"cold_start_ms\":{\"constant\":700},\"input_gate\":true,\"restart_probability\":0,\"hibernate_after_idle_ms\":10000},\"spikes\":{\"probability\":0,\"ms\":{\"constant\":0}}}"),
  ],
);

const disabled :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Wrapped", uniqueKey = "hs-latency-disabled") ],
  durableObjectStorage = (inMemory = void),
  bindings = [ (name = "PROBE", durableObjectNamespace = "Wrapped") ],
);

const malformed :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Wrapped", uniqueKey = "hs-latency-malformed") ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "PROBE", durableObjectNamespace = "Wrapped"),
    (name = "HANDSHAKE_SIM_LATENCY", json = "{\"format\":\"handshake-sim-latency/1\",\"scenario\":\"test\",\"seed\":1,\"storage\":{\"backend\":\"kv\",\"read_ms\":{\"gamma\":[1,2]},\"cached_read_ms\":{\"constant\":0},\"write_ms\":{\"constant\":0},\"put_populates_cache\":true},\"object\":{\"cold_start_ms\":{\"constant\":0},\"input_gate\":true,\"restart_probability\":0,\"hibernate_after_idle_ms\":10000},\"spikes\":{\"probability\":0,\"ms\":{\"constant\":0}}}"),
  ],
);

const plain :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Probe", uniqueKey = "hs-latency-plain") ],
  durableObjectStorage = (inMemory = void),
  bindings = [ (name = "PROBE", durableObjectNamespace = "Probe") ],
);

# As `wrapped` with the scenario's object.input_gate = false: the check that the gate is held
# can fail.
const gateoff :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Wrapped", uniqueKey = "hs-latency-gateoff") ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "PROBE", durableObjectNamespace = "Wrapped"),
    (name = "HANDSHAKE_SIM_LATENCY", json = "{\"format\":\"handshake-sim-latency/1\",\"scenario\":\"test\",\"seed\":1,\"storage\":{\"backend\":\"kv\",\"read_ms\":{\"constant\":500},\"cached_read_ms\":{\"constant\":0},\"write_ms\":{\"constant\":20},\"put_populates_cache\":true},\"object\":{\"cold_start_ms\":{\"constant\":0},\"input_gate\":false,\"restart_probability\":0,\"hibernate_after_idle_ms\":10000},\"spikes\":{\"probability\":0,\"ms\":{\"constant\":0}}}"),
  ],
);

# As `wrapped` with object.restart_probability = 1: every fetch after the first restarts the
# object, so a token put before is read by a round trip.
const restart :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Wrapped", uniqueKey = "hs-latency-restart") ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "PROBE", durableObjectNamespace = "Wrapped"),
    (name = "HANDSHAKE_SIM_LATENCY", json = "{\"format\":\"handshake-sim-latency/1\",\"scenario\":\"test\",\"seed\":1,\"storage\":{\"backend\":\"kv\",\"read_ms\":{\"constant\":500},\"cached_read_ms\":{\"constant\":0},\"write_ms\":{\"constant\":20},\"put_populates_cache\":true},\"object\":{\"cold_start_ms\":{\"constant\":0},\"input_gate\":true,\"restart_probability\":1,\"hibernate_after_idle_ms\":10000},\"spikes\":{\"probability\":0,\"ms\":{\"constant\":0}}}"),
  ],
);

# The binding from the environment, as `handshake-sim dev-latency` writes it: the format the
# binary writes is the one the module reads.
const exported :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Wrapped", uniqueKey = "hs-latency-exported") ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "PROBE", durableObjectNamespace = "Wrapped"),
    (name = "HANDSHAKE_SIM_LATENCY", fromEnvironment = "HANDSHAKE_SIM_LATENCY"),
  ],
);

# As `restart`, with the module's other form: `class Based extends
# probeOn(withScenarioLatency(DurableObject))`, the base class wrapped.
const based :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Based", uniqueKey = "hs-latency-based") ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "PROBE", durableObjectNamespace = "Based"),
    (name = "HANDSHAKE_SIM_LATENCY", json = "{\"format\":\"handshake-sim-latency/1\",\"scenario\":\"test\",\"seed\":1,\"storage\":{\"backend\":\"kv\",\"read_ms\":{\"constant\":500},\"cached_read_ms\":{\"constant\":0},\"write_ms\":{\"constant\":20},\"put_populates_cache\":true},\"object\":{\"cold_start_ms\":{\"constant\":0},\"input_gate\":true,\"restart_probability\":1,\"hibernate_after_idle_ms\":10000},\"spikes\":{\"probability\":0,\"ms\":{\"constant\":0}}}"),
  ],
);
