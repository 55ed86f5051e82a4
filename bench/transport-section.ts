/**
 * The `transport` section of `npm run bench` (issue 22, goals 4 and 5):
 * server CPU per unary `Score` call under the same h2load load (16
 * connections × 4 streams), for
 * - the bare `node:http2` floor answering a canned message (`http2-floor.ts`),
 * - the least connect-node server answering the same (`connect-minimal.ts`),
 * - `@grpc/grpc-js` answering the same (`grpc-js-minimal.ts`),
 * - our server's gRPC fast path, and our server's Connect path
 *   (`--no-fast-path`), both really scoring, at the `--log-level warn` that
 *   `serverCommand` gives every bench server,
 * - the floor doing our per-call work (decode, validate, score, explain,
 *   encode) and nothing else of ours (`http2-floor-work.ts`): the least the
 *   fast path could cost, so how far goal 4 is from its own lower bound.
 * Servers run on core 0 and h2load on core 1 (`taskset`) when the machine
 * has two cores or more. Each repeat runs every target in turn; ratios to
 * the floor are taken repeat by repeat, then the median.
 */
import { ensureH2load } from "./h2load-bench.js";
import { fixed, type TableRow, verdict } from "./report.js";
import type { ServerProcess } from "./server-process.js";
import { spread, summarize } from "./stats.js";
import { type H2loadRun, h2loadRun } from "./unary-section.js";

/** Options of {@link runTransportSection}. */
export interface TransportSectionOptions {
  log: (line: string) => void;
  repeats: number;
  seconds: number;
  /** Starts a node script (`bench/….ts --port P …args`) under `prefix`, SERVING when returned. */
  startScript(
    file: string,
    prefix: readonly string[],
    args?: readonly string[],
  ): Promise<ServerProcess>;
  /** The model file our server scores with. */
  model: string;
  /** Starts our server with extra flags under `prefix`. */
  startServer(flags: readonly string[], prefix: readonly string[]): Promise<ServerProcess>;
}

const TARGETS = [
  { key: "floor", label: "node:http2 floor (canned answer)" },
  { key: "connectMinimal", label: "connect-node, nothing else (canned answer)" },
  { key: "grpcJs", label: "@grpc/grpc-js (canned answer)" },
  { key: "fastPath", label: "our server, gRPC fast path (scores)" },
  { key: "connectPath", label: "our server, Connect path, --no-fast-path (scores)" },
  {
    key: "floorWork",
    label: "node:http2 floor doing only our decode, scoring and encoding (scores)",
  },
] as const;
type Key = (typeof TARGETS)[number]["key"];

/** Runs the section; returns table rows and raw runs. */
export async function runTransportSection(
  o: TransportSectionOptions,
): Promise<{ rows: TableRow[]; results: Record<string, unknown> }> {
  const h2load = await ensureH2load(o.log);
  if (h2load === undefined) {
    o.log("transport: no h2load; skipped");
    return { rows: [], results: {} };
  }
  const pinned = (await import("node:os")).availableParallelism() >= 2;
  const serverCore = pinned ? ["taskset", "-c", "0"] : [];
  const loadCore = pinned ? ["taskset", "-c", "1"] : [];
  const servers = {} as Record<Key, ServerProcess>;
  const runs = Object.fromEntries(TARGETS.map((t) => [t.key, [] as H2loadRun[]])) as Record<
    Key,
    H2loadRun[]
  >;
  try {
    servers.floor = await o.startScript("bench/http2-floor.ts", serverCore);
    servers.connectMinimal = await o.startScript("bench/connect-minimal.ts", serverCore);
    servers.grpcJs = await o.startScript("bench/grpc-js-minimal.ts", serverCore);
    servers.fastPath = await o.startServer([], serverCore);
    servers.connectPath = await o.startServer(["--no-fast-path"], serverCore);
    servers.floorWork = await o.startScript("bench/http2-floor-work.ts", serverCore, [
      "--model",
      o.model,
    ]);
    for (let i = 0; i < o.repeats; i++) {
      for (const t of TARGETS) {
        const r = await h2loadRun(h2load, servers[t.key], 4, o.seconds, loadCore);
        if (r.failed > 0 || r.succeeded === 0) {
          throw new Error(`${t.label}: h2load got ${r.failed} failures, ${r.succeeded} answers`);
        }
        runs[t.key].push(r);
        o.log(
          `transport: ${t.key} ${r.requestsPerSecond.toFixed(0)} req/s, server ${r.serverCpuMicrosPerCall.toFixed(0)} µs/call`,
        );
      }
    }
  } finally {
    for (const s of Object.values(servers)) await s.stop();
  }
  const rows: TableRow[] = [];
  const us = fixed(0);
  const floor = runs.floor.map((r) => r.serverCpuMicrosPerCall);
  for (const t of TARGETS) {
    const cpu = summarize(runs[t.key].map((r) => r.serverCpuMicrosPerCall));
    const rps = summarize(runs[t.key].map((r) => r.requestsPerSecond));
    const ratio = summarize(
      runs[t.key].map((r, i) => r.serverCpuMicrosPerCall / (floor[i] as number)),
    );
    const isFast = t.key === "fastPath";
    rows.push({
      id: `transport.${t.key}`,
      what: `unary Score, h2load 16 connections × 4 streams${pinned ? ", server on core 0, h2load on core 1" : ""}: ${t.label}: server µs/call; req/s${t.key === "floor" ? "" : "; ÷ floor, run by run"}`,
      value: `${spread(cpu, us)}; ${rps.median.toFixed(0)}${t.key === "floor" ? "" : `; ${ratio.median.toFixed(2)}×`}`,
      goal: isFast ? "≤ 1.5× floor" : "",
      verdict: isFast ? verdict(ratio.median, "max", 1.5) : "",
    });
  }
  return { rows, results: { pinned, runs } };
}
