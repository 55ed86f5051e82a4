import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toJson } from "@bufbuild/protobuf";
import { ScoreRequestSchema } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createSimulator } from "../telemetry/simulator.js";
import { runMeasured } from "./measured-run.js";

/** One ghz run against the unary Score RPC. */
export interface UnaryResult {
  concurrency: number;
  connections: number;
  /** ghz's `--cpus` (Go's GOMAXPROCS); undefined: all of the machine's. */
  cpus: number | undefined;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number };
  ok: number;
  errors: number;
  /** ghz's count of each error message (`rpc error: code = … desc = …`). */
  errorMessages: Record<string, number>;
  /** CPU seconds the load tool itself used (user + system). */
  loadCpuSeconds: number;
  command: string;
}

/**
 * Drives `netanomaly.v1.ScoringService/Score` with ghz for `seconds` seconds
 * (plaintext h2c, schema from proto/), `concurrency` workers over
 * `connections` HTTP/2 connections, cycling through a few simulator events;
 * `cpus` caps the cores ghz's Go runtime runs on (`--cpus`).
 */
export async function runGhz(o: {
  ghz: string;
  port: number;
  concurrency: number;
  connections: number;
  cpus?: number;
  seconds: number;
}): Promise<UnaryResult> {
  const dir = await mkdtemp(join(tmpdir(), "netanomaly-ghz-"));
  try {
    const sim = createSimulator({ seed: 5, anomalyRate: 0.02 });
    // ghz cycles through an array of request objects, one per call.
    const data = Array.from({ length: 64 }, () =>
      toJson(ScoreRequestSchema, create(ScoreRequestSchema, { event: sim.next().event })),
    );
    const dataFile = join(dir, "requests.json");
    await writeFile(dataFile, JSON.stringify(data));
    const args = [
      "--insecure",
      "--proto",
      "proto/netanomaly/v1/scoring_service.proto",
      "--import-paths",
      "proto",
      "--call",
      "netanomaly.v1.ScoringService.Score",
      "--data-file",
      dataFile,
      "--concurrency",
      String(o.concurrency),
      "--connections",
      String(o.connections),
      "--duration",
      `${o.seconds}s`,
      "--format",
      "json",
      ...(o.cpus === undefined ? [] : ["--cpus", String(o.cpus)]),
      `127.0.0.1:${o.port}`,
    ];
    const { stdout, cpuSeconds } = await runMeasured(o.ghz, args, o.seconds + 30);
    const report = JSON.parse(stdout) as {
      rps: number;
      average: number;
      latencyDistribution: { percentage: number; latency: number }[] | null;
      statusCodeDistribution: Record<string, number>;
      errorDistribution: Record<string, number> | null;
    };
    const p = (q: number) =>
      (report.latencyDistribution?.find((d) => d.percentage === q)?.latency ?? Number.NaN) / 1e6;
    const codes = report.statusCodeDistribution ?? {};
    const ok = codes.OK ?? 0;
    const errors = Object.values(codes).reduce((a, b) => a + b, 0) - ok;
    return {
      concurrency: o.concurrency,
      connections: o.connections,
      cpus: o.cpus,
      requestsPerSecond: report.rps,
      latencyMs: { p50: p(50), p90: p(90), p99: p(99), mean: report.average / 1e6 },
      ok,
      errors,
      errorMessages: report.errorDistribution ?? {},
      loadCpuSeconds: cpuSeconds,
      command: `ghz ${args.join(" ").replace(dataFile, "requests.json")}`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
