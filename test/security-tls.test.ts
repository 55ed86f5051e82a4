/**
 * TLS and mutual TLS on the real server (127.0.0.1, port 0) with
 * certificates made by openssl for this run, driven by the agent's gRPC
 * transport, runAgent, curl, grpcurl and the Python client.
 */
import { existsSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgent } from "../agent/run-agent.js";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createServer, type NetanomalyServer } from "../server/server.js";
import { normalEvent, testDetector } from "../server/testdata/detector.js";
import { goTool, jsonLines, ROOT, runProcess } from "./deploy-harness.js";
import { makeTestCerts, type TestCerts } from "./security-certs.js";

const SCORE = "netanomaly.v1.ScoringService/Score";
const BODY = JSON.stringify({
  event: { processPath: "chrome.exe", destIp: "203.0.113.9", destPort: 443 },
});
const PYTHON = "/usr/bin/python3";

let certs: TestCerts;
let grpcurl: string;

beforeAll(async () => {
  certs = makeTestCerts();
  grpcurl = await goTool("grpcurl");
});
afterAll(() => certs?.remove());

async function startTls(mutual: boolean): Promise<{ app: NetanomalyServer; port: number }> {
  const app = createServer({
    detector: testDetector(),
    logger: pino({ level: "silent" }),
    tls: {
      cert: certs.read("server.pem"),
      key: certs.read("server.key"),
      ...(mutual ? { clientCa: certs.read("ca.pem") } : {}),
    },
  });
  const { port } = await app.listen(0, "127.0.0.1");
  return { app, port };
}

function curl(...args: string[]) {
  return runProcess("curl", [
    "-sS",
    "--max-time",
    "10",
    "-o",
    "-",
    "-w",
    "\n%{http_code} %{http_version}",
    ...args,
  ]);
}

function grpcClient(port: number, nodeOptions: Record<string, Buffer>) {
  return createClient(
    ScoringService,
    createGrpcTransport({ baseUrl: `https://127.0.0.1:${port}`, nodeOptions }),
  );
}

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  expect(e, "the call should have failed").toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

describe("TLS listener (--tls-cert, --tls-key)", () => {
  let app: NetanomalyServer;
  let port: number;
  beforeAll(async () => {
    ({ app, port } = await startTls(false));
  });
  afterAll(async () => {
    expect(await app.shutdown(5_000)).toBe("graceful");
  });

  it("serves gRPC over h2 to the agent's transport trusting the test CA", async () => {
    const res = await grpcClient(port, { ca: certs.read("ca.pem") }).score({
      event: normalEvent(),
    });
    expect(res.modelVersion).toBe(testDetector().info.version);
  });

  it("carries a runAgent stream end to end with --tls-ca", async () => {
    const summary = await runAgent({
      target: `https://127.0.0.1:${port}`,
      tls: { ca: certs.path("ca.pem") },
      rate: 0,
      count: 50,
      batch: 10,
    });
    expect(summary.fatal).toBeUndefined();
    expect(summary).toMatchObject({ sent: 50, scored: 50, lost: 0 });
  });

  it("serves Connect over HTTP/1.1 and HTTP/2 on the same port", async () => {
    for (const httpVersion of ["1.1", "2"] as const) {
      const client = createClient(
        ScoringService,
        createConnectTransport({
          baseUrl: `https://127.0.0.1:${port}`,
          httpVersion,
          nodeOptions: { ca: certs.read("ca.pem") },
        }),
      );
      expect((await client.score({ event: normalEvent() })).threshold).toBeGreaterThan(0);
    }
  });

  it.each([
    ["--http1.1", "1.1"],
    ["--http2", "2"],
  ])("answers curl --cacert %s (ALPN picks HTTP/%s)", async (flag, version) => {
    const run = await curl(
      flag,
      "--cacert",
      certs.path("ca.pem"),
      "-H",
      "Content-Type: application/json",
      "-d",
      BODY,
      `https://127.0.0.1:${port}/${SCORE}`,
    );
    expect(run.stderr).toBe("");
    expect(run.stdout.trim().split("\n").at(-1)).toBe(`200 ${version}`);
  });

  it("answers curl with localhost as the host name (SAN DNS:localhost)", async () => {
    const run = await curl(
      "--cacert",
      certs.path("ca.pem"),
      "--resolve",
      `localhost:${port}:127.0.0.1`,
      "-H",
      "Content-Type: application/json",
      "-d",
      BODY,
      `https://localhost:${port}/${SCORE}`,
    );
    expect(run.stdout.trim().split("\n").at(-1)).toBe("200 2");
  });

  it("answers grpcurl -cacert (reflection and Score)", async () => {
    if (!existsSync(grpcurl)) {
      expect(process.env.CI, `${grpcurl} is required in CI`).not.toBe("true");
      return;
    }
    const list = await runProcess(grpcurl, [
      "-cacert",
      certs.path("ca.pem"),
      `127.0.0.1:${port}`,
      "list",
    ]);
    expect(list.stdout).toContain("netanomaly.v1.ScoringService");
    const call = await runProcess(grpcurl, [
      "-cacert",
      certs.path("ca.pem"),
      "-d",
      '{"event":{"dest_ip":"8.8.8.8","dest_port":443}}',
      `127.0.0.1:${port}`,
      SCORE,
    ]);
    expect(call.stderr).toBe("");
    expect(JSON.parse(call.stdout)).toMatchObject({ modelVersion: testDetector().info.version });
  });

  it("answers the Python client with --tls-ca", async () => {
    const run = await runProcess(PYTHON, [
      `${ROOT}/clients/python/score.py`,
      "--target",
      `127.0.0.1:${port}`,
      "--tls-ca",
      certs.path("ca.pem"),
      "--json",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(jsonLines(run.stdout)[0]).toMatchObject({ rpc: "Score" });
  });

  it("fails the handshake for a client trusting another CA", async () => {
    const run = await curl("--cacert", certs.path("other-ca.pem"), `https://127.0.0.1:${port}/`);
    expect(run.code).toBe(60); // curl: peer certificate cannot be authenticated
    const err = await failure(
      grpcClient(port, { ca: certs.read("other-ca.pem") }).score({ event: normalEvent() }),
    );
    // connect-node reports the certificate error as unavailable or internal.
    expect([Code.Unavailable, Code.Internal]).toContain(err.code);
  });

  it("does not answer plaintext HTTP/1.1 or h2c on the TLS port", async () => {
    const h1 = await curl(
      "--http1.1",
      "-H",
      "Content-Type: application/json",
      "-d",
      BODY,
      `http://127.0.0.1:${port}/${SCORE}`,
    );
    expect(h1.code).not.toBe(0);
    expect(h1.stdout).not.toContain("modelVersion");
    await failure(
      createClient(
        ScoringService,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }),
      ).score({ event: normalEvent() }),
    );
  });
});

describe("mutual TLS (--client-ca)", () => {
  let app: NetanomalyServer;
  let port: number;
  beforeAll(async () => {
    ({ app, port } = await startTls(true));
  });
  afterAll(async () => {
    expect(await app.shutdown(5_000)).toBe("graceful");
  });

  const mine = () => ({
    ca: certs.read("ca.pem"),
    cert: certs.read("client.pem"),
    key: certs.read("client.key"),
  });

  it("serves a client presenting a certificate from the client CA", async () => {
    const res = await grpcClient(port, mine()).score({ event: normalEvent() });
    expect(res.modelVersion).toBe(testDetector().info.version);
    const run = await curl(
      "--cacert",
      certs.path("ca.pem"),
      "--cert",
      certs.path("client.pem"),
      "--key",
      certs.path("client.key"),
      "-H",
      "Content-Type: application/json",
      "-d",
      BODY,
      `https://127.0.0.1:${port}/${SCORE}`,
    );
    expect(run.stdout.trim().split("\n").at(-1)).toBe("200 2");
  });

  it("carries a runAgent stream with --tls-cert and --tls-key", async () => {
    const summary = await runAgent({
      target: `https://127.0.0.1:${port}`,
      tls: {
        ca: certs.path("ca.pem"),
        cert: certs.path("client.pem"),
        key: certs.path("client.key"),
      },
      rate: 0,
      count: 20,
      batch: 5,
    });
    expect(summary).toMatchObject({ scored: 20, lost: 0 });
    expect(summary.fatal).toBeUndefined();
  });

  it("answers the Python client with --tls-cert and --tls-key, and refuses it without", async () => {
    const base = [
      `${ROOT}/clients/python/score.py`,
      "--target",
      `127.0.0.1:${port}`,
      "--tls-ca",
      certs.path("ca.pem"),
      "--json",
    ];
    const ok = await runProcess(PYTHON, [
      ...base,
      "--tls-cert",
      certs.path("client.pem"),
      "--tls-key",
      certs.path("client.key"),
    ]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const refused = await runProcess(PYTHON, base);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^score: rpc failed: unavailable: /m);
  });

  it("answers grpcurl -cert -key", async () => {
    if (!existsSync(grpcurl)) {
      expect(process.env.CI, `${grpcurl} is required in CI`).not.toBe("true");
      return;
    }
    const args = [
      "-cacert",
      certs.path("ca.pem"),
      "-cert",
      certs.path("client.pem"),
      "-key",
      certs.path("client.key"),
    ];
    const list = await runProcess(grpcurl, [...args, `127.0.0.1:${port}`, "list"]);
    expect(list.stdout).toContain("netanomaly.v1.ScoringService");
  });

  it("fails the handshake without a client certificate", async () => {
    const run = await curl(
      "--cacert",
      certs.path("ca.pem"),
      "-d",
      BODY,
      `https://127.0.0.1:${port}/${SCORE}`,
    );
    expect(run.code).not.toBe(0);
    expect(run.stdout).not.toContain("modelVersion");
    await failure(grpcClient(port, { ca: certs.read("ca.pem") }).score({ event: normalEvent() }));
  });

  it("fails the handshake for a client certificate from another CA", async () => {
    const run = await curl(
      "--cacert",
      certs.path("ca.pem"),
      "--cert",
      certs.path("other-client.pem"),
      "--key",
      certs.path("other-client.key"),
      "-d",
      BODY,
      `https://127.0.0.1:${port}/${SCORE}`,
    );
    expect(run.code).not.toBe(0);
    expect(run.stdout).not.toContain("modelVersion");
    await failure(
      grpcClient(port, {
        ca: certs.read("ca.pem"),
        cert: certs.read("other-client.pem"),
        key: certs.read("other-client.key"),
      }).score({ event: normalEvent() }),
    );
  });
});
