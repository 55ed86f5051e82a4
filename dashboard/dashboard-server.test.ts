import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../detector/index.js";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createApiKeys } from "../server/auth.js";
import { createServer, type NetanomalyServer } from "../server/server.js";
import { BUNDLE_DIR, ensureBundle } from "./bundle.js";
import { createDashboardServer, type DashboardServer } from "./dashboard-server.js";

const KEY = "dashboard-server-test-key";
let app: NetanomalyServer;
let dashboard: DashboardServer;
let base = "";

beforeAll(async () => {
  const detector = await loadModel(join(import.meta.dirname, "../models/default.model.json"));
  app = createServer({
    detector,
    logger: pino({ level: "silent" }),
    apiKeys: createApiKeys([KEY]),
  });
  dashboard = createDashboardServer({
    bundleDir: await ensureBundle(),
    connect: app.connect,
    guard: (req, res) => app.guardHttp1(req, res),
  });
  const { port } = await dashboard.listen(0, "127.0.0.1");
  base = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await app.shutdown(2000);
  await dashboard.close(2000);
});

describe("createDashboardServer()", () => {
  it("serves the page and its bundle, same-origin only, and nothing else", async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    const js = await fetch(`${base}/app.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await js.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    expect((await fetch(`${base}/../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/app.js.map`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: "POST" })).status).toBe(404);
    expect(BUNDLE_DIR).toContain(join("dashboard", "dist"));
  });

  it("mounts the scoring routes over HTTP/1.1 with the same API keys", async () => {
    const client = (key?: string) =>
      createClient(
        ScoringService,
        createConnectTransport({
          baseUrl: base,
          httpVersion: "1.1",
          interceptors: [
            (next) => (req) => {
              if (key !== undefined) req.header.set("authorization", `Bearer ${key}`);
              return next(req);
            },
          ],
        }),
      );
    const refused = await client()
      .getModelInfo({})
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(refused?.code).toBe(Code.Unauthenticated);
    const info = await client(KEY).getModelInfo({});
    expect(info.modelVersion).toBe(app.models.current()?.info.version);
    const abort = new AbortController();
    for await (const res of client(KEY).watchAnomalies({ backlog: 10 }, { signal: abort.signal })) {
      expect(res.stats?.model?.modelVersion).toBe(info.modelVersion);
      break;
    }
    abort.abort();
  });
});
