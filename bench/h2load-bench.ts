import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { ScoreRequestSchema } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createSimulator } from "../telemetry/simulator.js";
import { grpcFrame } from "./grpc-frame.js";
import { runMeasured } from "./measured-run.js";

const run = promisify(execFile);
const SCORE_PATH = "/netanomaly.v1.ScoringService/Score";

/** One h2load run against the unary Score RPC. */
export interface H2loadResult {
  connections: number;
  /** Concurrent streams per connection (`-m`). */
  streams: number;
  requestsPerSecond: number;
  /** Calls answered, warm-up excluded. */
  succeeded: number;
  failed: number;
  /** Mean time per request, ms (h2load prints no percentiles). */
  meanMs: number;
  /** Seconds measured, and the warm-up before them (load ran for both). */
  seconds: number;
  warmUpSeconds: number;
  /** CPU seconds h2load itself used, warm-up included. */
  loadCpuSeconds: number;
  command: string;
}

/**
 * h2load, nghttp2's HTTP/2 load generator in C, as the second unary load
 * tool: it sends one fixed gRPC request body (a simulator event, framed)
 * over `connections` connections with `streams` in flight on each, and costs
 * a fraction of ghz's CPU per call, so more of the machine is left to the
 * server. h2load counts HTTP 200 as success; gRPC errors are HTTP 200 with
 * a `grpc-status` trailer, so {@link checkGrpcScore} checks the body first.
 */
export async function runH2load(o: {
  h2load: string;
  port: number;
  connections: number;
  streams: number;
  seconds: number;
  /** Run h2load under this command, e.g. `["taskset", "-c", "1"]`. */
  prefix?: readonly string[];
}): Promise<H2loadResult> {
  const dir = await mkdtemp(join(tmpdir(), "netanomaly-h2load-"));
  try {
    const body = join(dir, "score.grpc");
    await writeFile(body, scoreRequestFrame());
    const warmUp = 1;
    const args = [
      "-D",
      String(o.seconds),
      `--warm-up-time=${warmUp}`,
      "-c",
      String(o.connections),
      "-m",
      String(o.streams),
      "-t",
      "1",
      "-d",
      body,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      `http://127.0.0.1:${o.port}${SCORE_PATH}`,
    ];
    const [cmd, ...pre] = [...(o.prefix ?? []), o.h2load];
    const { stdout, cpuSeconds } = await runMeasured(
      cmd as string,
      [...pre, ...args],
      o.seconds + warmUp + 30,
    );
    const rps = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(stdout);
    const counts = /(\d+) succeeded, (\d+) failed/.exec(stdout);
    const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b/.exec(stdout);
    if (!rps || !counts || !mean) {
      throw new Error(`unexpected h2load output: ${stdout.slice(0, 500)}`);
    }
    const unit = { us: 1e-3, ms: 1, s: 1e3 }[mean[2] as "us" | "ms" | "s"];
    return {
      connections: o.connections,
      streams: o.streams,
      requestsPerSecond: Number(rps[1]),
      succeeded: Number(counts[1]),
      failed: Number(counts[2]),
      meanMs: Number(mean[1]) * unit,
      seconds: o.seconds,
      warmUpSeconds: warmUp,
      loadCpuSeconds: cpuSeconds,
      command: `h2load ${args
        .map((a) => (a.includes(" ") ? `'${a}'` : a))
        .join(" ")
        .replace(body, "score.grpc")}`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A `ScoreRequest` for one routine simulator event, in a gRPC length-prefixed frame. */
export function scoreRequestFrame(): Buffer {
  const sim = createSimulator({ seed: 5, anomalyRate: 0 });
  return grpcFrame(
    toBinary(ScoreRequestSchema, create(ScoreRequestSchema, { event: sim.next().event })),
  );
}

/**
 * Sends {@link scoreRequestFrame} once over h2c as h2load will, and returns
 * the `grpc-status` trailer ("0" when the call is answered).
 */
export async function checkGrpcScore(port: number): Promise<string> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const req = session.request({
      ":method": "POST",
      ":path": SCORE_PATH,
      "content-type": "application/grpc",
      te: "trailers",
    });
    req.resume();
    return await new Promise<string>((resolve, reject) => {
      req.on("trailers", (t) => resolve(String(t["grpc-status"])));
      req.on("error", reject);
      req.end(scoreRequestFrame());
    });
  } finally {
    session.close();
  }
}

/** Path of h2load: on PATH, or installed from Debian's nghttp2-client when running as root. */
export async function ensureH2load(log: (line: string) => void): Promise<string | undefined> {
  const which = async () => {
    try {
      return (await run("sh", ["-c", "command -v h2load"])).stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const found = await which();
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) {
    log("h2load unavailable: not on PATH and not root (apt-get install nghttp2-client)");
    return undefined;
  }
  log("installing nghttp2-client (h2load) with apt-get");
  try {
    await run("timeout", ["600", "apt-get", "install", "-y", "-q", "nghttp2-client"], {
      maxBuffer: 1 << 24,
    });
  } catch (e) {
    log(`h2load unavailable: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  return which();
}
