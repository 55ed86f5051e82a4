/**
 * Throws over 10,000 seeded malformed inputs at the real server, a child
 * process listening on 127.0.0.1, over every protocol it serves: gRPC,
 * gRPC-Web and Connect (binary, JSON, streaming) over HTTP/2 and HTTP/1.1,
 * plus raw HTTP/1.1 and HTTP/2 garbage. Every request must get a
 * well-formed error (or, for a mutation that happens to be valid, an
 * answer) in time; the server must stay up, healthy, able to score, and
 * its memory bounded.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { killProcess, ROOT, trainTestModel } from "./deploy-harness.js";
import {
  badEnvelopedBody,
  badHttp1,
  badHttp2Frames,
  badJsonBody,
  badMessage,
  createRandom,
  envelope,
  type Random,
  VALID_SCORE,
  VALID_STREAM,
} from "./fuzz-inputs.js";

const SEED = 20_241_202;
/** Longest any one request may take before it counts as a hang. */
const REQUEST_TIMEOUT_MS = 15_000;
const CONCURRENCY = 64;
const SCORE = "/netanomaly.v1.ScoringService/Score";
const STREAM = "/netanomaly.v1.ScoringService/StreamScore";
const HEALTH = "/grpc.health.v1.Health/Check";
const GRPC_CODES = 16;

let dir: string;
let child: ChildProcess;
let port: number;
let baseUrl: string;
const errorLogs: string[] = [];
let stderr = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-fuzz-"));
  const model = trainTestModel(dir);
  child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "server/main.ts"),
      "--port",
      "0",
      "--model",
      model,
      // Reaps connections broken by garbage frames quickly (see ServerOptions.idleTimeoutMs).
      "--idle-timeout",
      "2",
    ],
    {
      cwd: ROOT,
      env: { ...process.env, API_KEYS: "", NETANOMALY_HOST: "", NETANOMALY_PORT: "" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const obj = JSON.parse(line) as { msg?: string; port?: number; level?: number };
      if (obj.msg === "listening") resolve(obj.port as number);
      if ((obj.level ?? 0) >= 50) errorLogs.push(line);
    });
    child.once("exit", (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  baseUrl = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  if (child !== undefined) await killProcess(child, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Resident set size of the server process, in MiB (Linux /proc). */
function rssMiB(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]);
  return kb / 1024;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function withTimeout<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in time: ${what}`)), REQUEST_TIMEOUT_MS);
    }),
  ]);
}

/** A small pool of HTTP/2 sessions, replaced when one goes away. */
const sessions: http2.ClientHttp2Session[] = [];
function session(i: number): http2.ClientHttp2Session {
  const slot = i % 8;
  let s = sessions[slot];
  if (s === undefined || s.closed || s.destroyed) {
    s = http2.connect(baseUrl);
    s.on("error", () => {});
    sessions[slot] = s;
  }
  return s;
}

function h2Request(
  i: number,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer | string,
): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const stream = session(i).request({ ":method": "POST", ...headers });
    const reply: Reply = { status: 0, headers: {}, trailers: {}, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      reply.status = Number(h[":status"]);
      reply.headers = h;
    });
    stream.on("trailers", (t) => {
      reply.trailers = t;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      reply.body = Buffer.concat(chunks);
      // Like grpc-go, stop sending once the answer is complete.
      stream.close();
      resolve(reply);
    });
    stream.on("error", reject);
    stream.on("close", () => {
      if (reply.status === 0)
        reject(new Error(`stream closed without a response (rst ${stream.rstCode})`));
    });
    stream.end(body);
  });
}

const h1Agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
function h1Request(
  headers: http.OutgoingHttpHeaders,
  path: string,
  body: Buffer | string,
): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: "POST", headers, agent: h1Agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            trailers: res.trailers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Sends raw bytes, half-closes, and collects whatever comes back until the server closes. */
function rawExchange(bytes: Buffer): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      // The server may reset a connection that sent garbage: that is an answer too.
      if (e.code === "ECONNRESET" || e.code === "EPIPE") resolve(Buffer.concat(chunks));
      else reject(e);
    });
    socket.on("close", () => resolve(Buffer.concat(chunks)));
    socket.end(bytes);
  });
}

/** What the fuzz run saw, for the assertions and the report. */
const seen = {
  total: 0,
  byKind: new Map<string, number>(),
  grpcCodes: new Map<number, number>(),
  httpStatuses: new Map<number, number>(),
  problems: [] as string[],
};

function count<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

const STACK = /\n\s+at |node:internal|\/work\/|\.ts:\d+/;

/**
 * `internal` is what gRPC (and connect-es, like grpc-go) answers for a
 * message that cannot be decoded or a compressed frame without an encoding;
 * any other `internal` would be a bug.
 */
const DECODE_ERROR =
  /^(parse binary|protocol error|received compressed|invalid envelope|cannot decode)/i;

/** The gRPC status of a gRPC or gRPC-Web reply: trailers, headers, or a gRPC-Web trailer frame. */
function grpcStatus(reply: Reply): { code: number | undefined; message: string } {
  const from = (h: Record<string, unknown>) =>
    h["grpc-status"] === undefined
      ? undefined
      : { code: Number(h["grpc-status"]), message: String(h["grpc-message"] ?? "") };
  const direct = from(reply.trailers) ?? from(reply.headers);
  if (direct !== undefined) return direct;
  // gRPC-Web: trailers travel in a body frame flagged 0x80.
  let at = 0;
  while (at + 5 <= reply.body.length) {
    const flags = reply.body[at] as number;
    const length = reply.body.readUInt32BE(at + 1);
    const payload = reply.body.subarray(at + 5, at + 5 + length).toString("latin1");
    if (flags & 0x80) {
      const code = /grpc-status:\s*(\d+)/i.exec(payload)?.[1];
      const message = /grpc-message:\s*([^\r\n]*)/i.exec(payload)?.[1] ?? "";
      return { code: code === undefined ? undefined : Number(code), message };
    }
    at += 5 + length;
  }
  return { code: undefined, message: "" };
}

function checkGrpc(kind: string, reply: Reply): void {
  const { code, message } = grpcStatus(reply);
  if (reply.status !== 200) {
    // A gRPC(-Web) client gets an HTTP error only for requests that are not gRPC at all.
    // 505: connect-es's answer to a bidi stream (StreamScore) over HTTP/1.1.
    if (reply.status >= 500 && reply.status !== 505) {
      seen.problems.push(`${kind}: HTTP ${reply.status}`);
    }
    count(seen.httpStatuses, reply.status);
    return;
  }
  if (code === undefined || !(code >= 0 && code <= GRPC_CODES)) {
    seen.problems.push(`${kind}: no grpc-status (${JSON.stringify(reply.headers)})`);
    return;
  }
  count(seen.grpcCodes, code);
  if (code === 2) seen.problems.push(`${kind}: unknown: ${message}`);
  if (code === 13 && !DECODE_ERROR.test(decodeURIComponent(message))) {
    seen.problems.push(`${kind}: internal: ${message}`);
  }
  if (STACK.test(decodeURIComponent(message)))
    seen.problems.push(`${kind}: leaks a stack: ${message}`);
}

function checkConnect(kind: string, reply: Reply, streaming = false): void {
  count(seen.httpStatuses, reply.status);
  const text = reply.body.toString("utf8");
  if (reply.status >= 500) {
    const body = (reply.headers["content-type"] === "application/json" ? JSON.parse(text) : {}) as {
      code?: unknown;
      message?: unknown;
    };
    if (!(body.code === "internal" && DECODE_ERROR.test(String(body.message)))) {
      seen.problems.push(`${kind}: HTTP ${reply.status} ${text.slice(0, 200)}`);
    }
  }
  if (STACK.test(text)) seen.problems.push(`${kind}: leaks a stack: ${text.slice(0, 200)}`);
  if (!streaming && reply.status !== 200 && reply.headers["content-type"] === "application/json") {
    const body = JSON.parse(text) as { code?: unknown };
    if (typeof body.code !== "string") seen.problems.push(`${kind}: error without code: ${text}`);
  }
}

function checkRaw(kind: string, response: Buffer): void {
  const head = response.subarray(0, 16).toString("latin1");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
  if (status !== undefined) {
    count(seen.httpStatuses, Number(status));
    // 505: Node's HTTP/1 parser for a request line naming another HTTP version.
    if (Number(status) >= 500 && Number(status) !== 505) seen.problems.push(`${kind}: ${head}`);
  }
}

/** One request; `worker` picks the HTTP/2 session, so each session has few streams open. */
type Task = (worker: number) => Promise<void>;

/** Builds the seeded list of malformed requests, one closure each. */
function buildTasks(r: Random): Task[] {
  const tasks: Task[] = [];
  const add = (kind: string, n: number, make: (i: number) => Task) => {
    for (let i = 0; i < n; i++) {
      const build = make(i);
      tasks.push(async (worker) => {
        await withTimeout(kind, build(worker)).catch((e: unknown) => {
          throw new Error(`${kind}: ${String(e)}`);
        });
        seen.total++;
        count(seen.byKind, kind);
      });
    }
  };
  const target = () => r.pick([SCORE, SCORE, STREAM, HEALTH]);
  const valid = (path: string) => (path === STREAM ? VALID_STREAM : VALID_SCORE);

  add("grpc h2", 3000, () => {
    const path = target();
    const headers: http2.OutgoingHttpHeaders = {
      ":path": path,
      "content-type": r.pick(["application/grpc", "application/grpc+proto"]),
      te: "trailers",
      ...(r.next() < 0.1 ? { "grpc-encoding": r.pick(["gzip", "br", "bogus"]) } : {}),
      ...(r.next() < 0.05 ? { "grpc-timeout": r.pick(["1n", "99999999H", "x", "-1S"]) } : {}),
    };
    const body = badEnvelopedBody(r, valid(path));
    return async (w) => checkGrpc("grpc h2", await h2Request(w, headers, body));
  });
  add("grpc-web h2", 900, () => {
    const path = target();
    const body = badEnvelopedBody(r, valid(path));
    const headers = { ":path": path, "content-type": "application/grpc-web+proto" };
    return async (w) => checkGrpc("grpc-web h2", await h2Request(w, headers, body));
  });
  add("grpc-web h1", 700, () => {
    const path = target();
    const body = badEnvelopedBody(r, valid(path));
    return async () =>
      checkGrpc(
        "grpc-web h1",
        await h1Request({ "content-type": "application/grpc-web+proto" }, path, body),
      );
  });
  add("connect proto h1", 900, () => {
    const path = r.pick([SCORE, HEALTH]);
    const body = Buffer.from(badMessage(r, VALID_SCORE));
    return async () =>
      checkConnect(
        "connect proto h1",
        await h1Request({ "content-type": "application/proto" }, path, body),
      );
  });
  add("connect proto h2", 900, () => {
    const path = r.pick([SCORE, HEALTH]);
    const body = Buffer.from(badMessage(r, VALID_SCORE));
    const headers = {
      ":path": path,
      "content-type": "application/proto",
      "connect-protocol-version": "1",
    };
    return async (w) => checkConnect("connect proto h2", await h2Request(w, headers, body));
  });
  add("connect json h1", 1500, () => {
    const body = badJsonBody(r);
    return async () =>
      checkConnect(
        "connect json h1",
        await h1Request({ "content-type": "application/json" }, SCORE, body),
      );
  });
  add("connect json h2", 700, () => {
    const body = badJsonBody(r);
    const headers = { ":path": SCORE, "content-type": "application/json" };
    return async (w) => checkConnect("connect json h2", await h2Request(w, headers, body));
  });
  add("connect stream h2", 500, () => {
    const json = r.next() < 0.3;
    const body = json ? envelope(Buffer.from(badJsonBody(r))) : badEnvelopedBody(r, VALID_STREAM);
    const headers = {
      ":path": STREAM,
      "content-type": json ? "application/connect+json" : "application/connect+proto",
      ...(r.next() < 0.1 ? { "connect-content-encoding": "gzip" } : {}),
    };
    return async (w) => checkConnect("connect stream h2", await h2Request(w, headers, body), true);
  });
  add("raw http/1.1", 600, () => {
    const bytes = badHttp1(r, r.pick([SCORE, STREAM, "/", "/nope"]));
    return async () => checkRaw("raw http/1.1", await rawExchange(bytes));
  });
  add("raw http/2 frames", 300, () => {
    const bytes = badHttp2Frames(r);
    return async () => {
      await rawExchange(bytes);
    };
  });
  // Shuffle (seeded) so protocols and sizes interleave under load.
  for (let i = tasks.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [tasks[i], tasks[j]] = [tasks[j] as Task, tasks[i] as Task];
  }
  return tasks;
}

async function runPool(tasks: Task[]): Promise<void> {
  let next = 0;
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (next < tasks.length) {
        const task = tasks[next++] as Task;
        await task(worker).catch((e: unknown) => failures.push(String(e)));
      }
    }),
  );
  seen.problems.push(...failures.slice(0, 20));
  if (failures.length > 20) seen.problems.push(`… and ${failures.length - 20} more failures`);
}

async function healthyAndScoring(): Promise<void> {
  const transport = createGrpcTransport({ baseUrl });
  const health = await createClient(Health, transport).check({ service: "" });
  expect(health.status).toBe(ServingStatus.SERVING);
  const scoring = createClient(ScoringService, transport);
  for (let i = 0; i < 200; i++) {
    const res = await scoring.score({
      event: { destIp: "203.0.113.9", destPort: 443, processPath: "chrome.exe" },
    });
    expect(res.score).toBeGreaterThan(0);
  }
}

describe("the running server under malformed input", () => {
  it("answers 10,000+ malformed requests with well-formed errors and stays healthy", async () => {
    await healthyAndScoring(); // warm up before measuring memory
    const rssBefore = rssMiB();
    const tasks = buildTasks(createRandom(SEED));
    expect(tasks.length).toBeGreaterThanOrEqual(10_000);
    await runPool(tasks);
    for (const s of sessions) s.destroy();
    h1Agent.destroy();

    const report = {
      total: seen.total,
      byKind: Object.fromEntries(seen.byKind),
      grpcCodes: Object.fromEntries(seen.grpcCodes),
      httpStatuses: Object.fromEntries(seen.httpStatuses),
    };
    console.log(`fuzz: ${JSON.stringify(report)}`);
    const kinds = new Map<string, number>();
    for (const p of seen.problems) count(kinds, p.slice(0, 150));
    console.log("fuzz problems", [...kinds].slice(0, 40));
    expect(seen.problems).toEqual([]);
    expect(seen.total).toBe(tasks.length);

    // Still up, healthy, scoring, and no bug reached the logs.
    expect(child.exitCode).toBeNull();
    await healthyAndScoring();
    expect(errorLogs).toEqual([]);
    expect(stderr).toBe("");
    const rssAfter = rssMiB();
    console.log(`fuzz: rss ${rssBefore.toFixed(1)} MiB -> ${rssAfter.toFixed(1)} MiB`);
    // Generous: large inputs (up to 4 MiB each, 64 at a time) may grow the heap, but not without bound.
    expect(rssAfter).toBeLessThan(rssBefore + 300);
  }, 120_000);
});
