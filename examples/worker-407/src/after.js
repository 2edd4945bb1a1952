// ✅ AFTER: the write-up's fix, both storage reads in parallel (50–100 ms on a cold object in
// production).
// The Worker's entry module: worker.js's routes, and this object.

import { withScenarioLatency } from "handshake-sim-scenario-latency";
import { ProgressBase } from "./progress.js";

export { default } from "./worker.js";

class ProgressWebSocket extends ProgressBase {
  async fetch(request) {
    const upgradeStartTime = Date.now();
    if (request.headers.get("Upgrade") !== "websocket") {
      return new Response("expected Upgrade: websocket", { status: 426 });
    }
    const url = new URL(request.url);
    const jobId = url.searchParams.get("jobId");
    const token = url.searchParams.get("token");

    const storageStartTime = Date.now();
    const [storedToken, expiration] = await Promise.all([
      this.storage.get("authToken"),
      this.storage.get("authTokenExpiration"),
    ]); // max(50-100ms)
    const storageDuration = Date.now() - storageStartTime;

    if (!token || token !== storedToken || !(Date.now() < expiration)) {
      return new Response("invalid or expired token", { status: 401 });
    }
    const pairStartTime = Date.now();
    const [client, server] = Object.values(new WebSocketPair());
    const pairDuration = Date.now() - pairStartTime;
    const acceptStartTime = Date.now();
    server.accept();
    const acceptDuration = Date.now() - acceptStartTime;
    const totalUpgradeDuration = Date.now() - upgradeStartTime;
    console.log(`[${jobId}] 📊 WebSocket upgrade timing:`, {
      storageDuration: `${storageDuration}ms`,
      pairCreation: `${pairDuration}ms`,
      accept: `${acceptDuration}ms`,
      totalUpgrade: `${totalUpgradeDuration}ms`,
    });
    this.opened(server);
    return new Response(null, { status: 101, webSocket: client });
  }
}

// The one line that gives the object a scenario's storage latency in dev, and nothing without
// the HANDSHAKE_SIM_LATENCY binding (in production).
export const ProgressWebSocketDO = withScenarioLatency(ProgressWebSocket);
