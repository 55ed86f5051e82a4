/**
 * The repository's nginx balancer (deploy/nginx/) in front of three real
 * server processes, all on loopback. Each backend loads its own model
 * (seeds 7, 8, 9), so the model_version in a response names the backend
 * that answered; nginx's JSON access log names it too ($upstream_addr).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgent } from "../agent/run-agent.js";
import { serializeModel, trainModel } from "../detector/index.js";
import {
  ScoringService,
  type StreamScoreRequest,
  StreamScoreRequestSchema,
  type StreamScoreResponse,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { eventFromRecord } from "../telemetry/index.js";
import { killProcess, ROOT, runProcess } from "./deploy-harness.js";

/** A server process and what its `listening` log line told us. */
interface Backend {
  process: ChildProcess;
  address: string;
  modelVersion: string;
}

/** Lines a child process printed, and a way to wait for one. */
interface LineWatch {
  lines: string[];
  waitFor(predicate: (line: string) => boolean): Promise<string>;
}

/** Collects the lines of a stream; `waitFor` resolves on the first line (seen or future) matching. */
function watchLines(stream: NodeJS.ReadableStream, child: ChildProcess): LineWatch {
  const lines: string[] = [];
  const waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  const exited: ((err: Error) => void)[] = [];
  createInterface({ input: stream }).on("line", (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.once("exit", (code, signal) => {
    const tail = lines.slice(-5).join("\n");
    for (const reject of exited)
      reject(new Error(`process exited (${code ?? signal}) first:\n${tail}`));
  });
  return {
    lines,
    waitFor(predicate) {
      const seen = lines.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ predicate, resolve });
        exited.push(reject);
      });
    },
  };
}

/** Trains one small model per backend from data/telemetry.csv; seeds differ, so versions differ. */
function trainModels(dir: string, seeds: readonly number[]): string[] {
  const rows = parse(readFileSync(join(ROOT, "data/telemetry.csv")), {
    columns: true,
    to: 2000,
  }) as Record<string, string>[];
  const events = rows.map(eventFromRecord);
  return seeds.map((seed) => {
    const path = join(dir, `model-${seed}.json`);
    writeFileSync(path, serializeModel(trainModel(events, { nEstimators: 30, seed })));
    return path;
  });
}

/** Starts `server/main.ts` on 127.0.0.1, port 0, and waits for its `listening` line. */
async function startBackend(modelPath: string): Promise<Backend> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "server/main.ts",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--model",
      modelPath,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  const out = watchLines(child.stdout as NodeJS.ReadableStream, child);
  const line = await out.waitFor((l) => l.includes('"msg":"listening"'));
  const log = JSON.parse(line) as { port: number; modelVersion: string };
  return { process: child, address: `127.0.0.1:${log.port}`, modelVersion: log.modelVersion };
}

/** A port that was free a moment ago (nginx cannot listen on port 0 and report it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Writes deploy/nginx/nginx.conf and upstream.conf into `prefix`, changed
 * only where loopback needs it: the listen address, the access log (a FIFO:
 * nginx cannot open /dev/stdout when it is a socket, as Node's pipes are),
 * and the upstream's one compose `server` line replaced by one line per backend.
 */
function templateNginx(
  prefix: string,
  port: number,
  backends: readonly string[],
  log: string,
): void {
  const conf = readFileSync(join(ROOT, "deploy/nginx/nginx.conf"), "utf8");
  const listen = /^(\s*)listen 8080 http2;$/m;
  const accessLog = /^(\s*)access_log \/dev\/stdout grpc;$/m;
  expect(conf).toMatch(listen);
  expect(conf).toMatch(accessLog);
  writeFileSync(
    join(prefix, "nginx.conf"),
    conf
      .replace(listen, `$1listen 127.0.0.1:${port} http2;`)
      .replace(accessLog, `$1access_log ${log} grpc;`),
  );
  const upstream = readFileSync(join(ROOT, "deploy/nginx/upstream.conf"), "utf8");
  const server = /^(\s*)server server-replica:50051 (.*);$/m;
  const match = server.exec(upstream);
  expect(match).not.toBeNull();
  const [, indent, params] = match as RegExpExecArray;
  const lines = backends.map((b) => `${indent}server ${b} ${params};`).join("\n");
  writeFileSync(join(prefix, "upstream.conf"), upstream.replace(server, lines));
}

/** One line of nginx's JSON access log (log_format grpc). */
interface AccessLogLine {
  uri: string;
  status: number;
  grpcStatus: string;
  upstream: string;
}

const SCORE = "/netanomaly.v1.ScoringService/Score";
const STREAM_SCORE = "/netanomaly.v1.ScoringService/StreamScore";

let dir: string;
let backends: Backend[] = [];
let nginx: ChildProcess | undefined;
let accessLog: LineWatch;
let nginxUrl: string;
let nginxPort: number;
let client: Client<typeof ScoringService>;

/** Access log lines for `uri`, once at least `count` of them are there. */
async function accessLines(uri: string, count: number): Promise<AccessLogLine[]> {
  const parsed = () =>
    accessLog.lines.map((l) => JSON.parse(l) as AccessLogLine).filter((l) => l.uri === uri);
  let seen = 0;
  await accessLog.waitFor((line) => {
    if ((JSON.parse(line) as AccessLogLine).uri === uri) seen++;
    return seen >= count;
  });
  return parsed();
}

/** Counts of each item. */
function tally(items: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-balancer-"));
  const models = trainModels(dir, [7, 8, 9]);
  backends = await Promise.all(models.map(startBackend));
  expect(new Set(backends.map((b) => b.modelVersion)).size).toBe(3);

  nginxPort = await freePort();
  const fifo = join(dir, "access.fifo");
  expect((await runProcess("mkfifo", [fifo])).code).toBe(0);
  templateNginx(
    dir,
    nginxPort,
    backends.map((b) => b.address),
    fifo,
  );
  nginx = spawn(
    "nginx",
    ["-p", `${dir}/`, "-c", "nginx.conf", "-e", "stderr", "-g", "daemon off; pid nginx.pid;"],
    { cwd: dir, stdio: ["ignore", "inherit", "pipe"] },
  );
  // Opening the FIFO's read end completes once nginx opens its write end.
  accessLog = watchLines(createReadStream(fifo), nginx);
  const errorLog = watchLines(nginx.stderr as NodeJS.ReadableStream, nginx);
  // The master binds the listen socket before it starts its worker.
  await errorLog.waitFor((l) => l.includes("start worker process"));
  nginxUrl = `http://127.0.0.1:${nginxPort}`;
  // One transport: every call below shares one HTTP/2 connection to nginx.
  client = createClient(ScoringService, createGrpcTransport({ baseUrl: nginxUrl }));
}, 120_000);

afterAll(async () => {
  if (nginx !== undefined) await killProcess(nginx, "SIGTERM");
  await Promise.all(backends.map((b) => killProcess(b.process, "SIGTERM")));
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("nginx (deploy/nginx) in front of three servers", () => {
  it("spreads unary Score calls over all three backends, round robin", async () => {
    const versions: string[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await client.score({
        event: { destIp: "203.0.113.9", destPort: 443, protocol: "TCP" },
      });
      versions.push(res.modelVersion);
    }
    // Each backend answered three of the nine calls, on one client connection.
    expect(Object.values(tally(versions))).toEqual([3, 3, 3]);
    expect(new Set(versions)).toEqual(new Set(backends.map((b) => b.modelVersion)));
    const log = await accessLines(SCORE, 9);
    expect(log.every((l) => l.status === 200 && l.grpcStatus === "0")).toBe(true);
    expect(tally(log.map((l) => l.upstream))).toEqual(
      Object.fromEntries(backends.map((b) => [b.address, 3])),
    );
  });

  it("sends each new StreamScore stream to the next backend", async () => {
    const versions: string[] = [];
    for (let i = 0; i < 6; i++) {
      const requests = (async function* (): AsyncGenerator<StreamScoreRequest> {
        yield create(StreamScoreRequestSchema, {
          requestId: `stream-${i}`,
          events: [{ destPort: 53, protocol: "UDP" }],
        });
      })();
      const responses: StreamScoreResponse[] = [];
      for await (const res of client.streamScore(requests)) responses.push(res);
      expect(responses.map((r) => r.requestId)).toEqual([`stream-${i}`]);
      versions.push((responses[0] as StreamScoreResponse).modelVersion);
    }
    expect(Object.values(tally(versions))).toEqual([2, 2, 2]);
    const log = await accessLines(STREAM_SCORE, 6);
    expect(new Set(log.map((l) => l.upstream))).toEqual(new Set(backends.map((b) => b.address)));
  });

  it("serves the Python client through the balancer", async () => {
    const run = await runProcess("/usr/bin/python3", [
      join(ROOT, "clients/python/score.py"),
      "--target",
      `127.0.0.1:${nginxPort}`,
      "--json",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('"code": "invalid_argument"');
  });

  it("keeps the agent streaming with lost 0 when its backend is SIGKILLed", async () => {
    const byVersion = new Map(backends.map((b) => [b.modelVersion, b]));
    let killed: Backend | undefined;
    const versionsAfterKill = new Set<string>();
    let responses = 0;
    // Watches StreamScore responses: the model version names the backend
    // that serves the agent's stream; SIGKILL that one after a few batches.
    const killer: Interceptor = (next) => async (req) => {
      const res = await next(req);
      if (!res.stream) return res;
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          for await (const m of messages) {
            const version = (m as StreamScoreResponse).modelVersion;
            if (killed !== undefined) versionsAfterKill.add(version);
            if (++responses === 3 && killed === undefined) {
              killed = byVersion.get(version);
              killed?.process.kill("SIGKILL");
            }
            yield m;
          }
        })(),
      };
    };
    const count = 20_000;
    const summary = await runAgent({
      transport: createGrpcTransport({ baseUrl: nginxUrl, interceptors: [killer] }),
      count,
      rate: 0,
      batch: 100,
      seed: 3,
      backoffBaseMs: 10,
      backoffMaxMs: 200,
    });
    expect(killed).toBeDefined();
    expect(summary.fatal).toBeUndefined();
    expect(summary.lost).toBe(0);
    expect(summary.sent).toBe(count);
    expect(summary.scored + summary.errors).toBe(count);
    expect(summary.reconnects).toBeGreaterThanOrEqual(1);
    // Batches in flight on the dead stream were sent again, and acknowledged.
    expect(summary.resent).toBeGreaterThan(0);
    // After the kill, the other two backends carried the stream.
    expect(versionsAfterKill.size).toBeGreaterThan(0);
    const survivors = [...versionsAfterKill].filter((v) => v !== killed?.modelVersion);
    expect(survivors.length).toBeGreaterThan(0);
  }, 120_000);
});
