// The Worker of the example: the app's two requests, as in the #407 write-up's call flow.
//
//   POST /api/enrichment/batch {"jobId", "books"}  → the job's object stores an auth token
//                                                     (setAuthToken) and starts enriching → 202
//   GET /ws/progress?jobId=…&token=…  (Upgrade)     → the job's object's fetch → 101
//
// Each job is one ProgressWebSocketDO, by idFromName(jobId). The object is in before.js (the
// sequential reads of the write-up's "before") or after.js (its Promise.all fix), the two
// Workers' entry modules.

const TOKEN_TTL_MS = 2 * 60 * 60 * 1000;

function text(status, body) {
  return new Response(body + "\n", { status, headers: { "content-type": "text/plain" } });
}

function freshToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function validJobId(id) {
  return typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

async function batch(request, env) {
  let body;
  try {
    body = await request.json();
  } catch {
    return text(400, "bad batch body");
  }
  const { jobId, books } = body ?? {};
  if (!validJobId(jobId) || !Number.isInteger(books) || books < 0 || books > 10000) {
    return text(400, "expected {jobId, books}");
  }
  const token = freshToken();
  const expiresAtMs = Date.now() + TOKEN_TTL_MS;
  const job = env.PROGRESS.get(env.PROGRESS.idFromName(jobId));
  await job.setAuthToken(jobId, books, token, expiresAtMs);
  return Response.json({ jobId, token, expiresAtMs }, { status: 202 });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/api/enrichment/batch" && request.method === "POST") {
      return batch(request, env);
    }
    if (url.pathname === "/ws/progress" && request.method === "GET") {
      const jobId = url.searchParams.get("jobId");
      if (!validJobId(jobId)) return text(400, "missing or malformed jobId");
      return env.PROGRESS.get(env.PROGRESS.idFromName(jobId)).fetch(request);
    }
    return text(404, "not found");
  },
};
