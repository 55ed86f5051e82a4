import { availableParallelism } from "node:os";
import { checkGrpcScore, ensureH2load, type H2loadResult, runH2load } from "./h2load-bench.js";
import { fixed, fmt, type TableRow, verdict } from "./report.js";
import type { ServerProcess } from "./server-process.js";
import { si, summarize } from "./stats.js";
import { ensureGhz } from "./tools.js";
import { runGhz, type UnaryResult } from "./unary-bench.js";

/** The Python prototype's figure under 16 connections, as the issue quotes it. */
const PROTOTYPE_RPS = 33.6;

/** What {@link runUnarySection} needs from the benchmark's main. */
export interface UnarySectionOptions {
  log: (line: string) => void;
  repeats: number;
  seconds: number;
  /** The one-process server the other load sections use. */
  server: ServerProcess;
  /** Starts the same server with `--workers N`; the section stops it. */
  startWorkers: (n: number) => Promise<ServerProcess>;
  /**
   * Starts the same server with `extra` flags after the bench's own, its
   * stdout a pipe the bench drains when `stdout` is "pipe"; the section stops it.
   */
  startWithFlags: (extra: readonly string[], stdout?: "pipe") => Promise<ServerProcess>;
  /** Starts `bench/http2-floor.ts`; the section stops it. */
  startFloor: () => Promise<ServerProcess>;
  /** Commands run, for the report. */
  commands: string[];
}

/**
 * Unary `Score` under load:
 * - ghz (the issue's tool) at 16 and 50 concurrent calls on 16 connections,
 *   with the server's and ghz's own CPU per call: ghz shares this machine's
 *   cores with the server, so their sum bounds the rate. ghz runs with
 *   `--cpus` half the cores (the nearest this machine has to a load client
 *   on its own machine); beside it, the same load from ghz on all cores, and
 *   the same load against the HTTP/2 floor (`http2-floor.ts`: node:http2
 *   answering a canned message), which bounds what any Node server can do;
 * - ghz at 50 concurrent against `--workers 2`;
 * - h2load (C, far cheaper per call than ghz) at 16 connections with 1 and
 *   4 streams each, against the HTTP/2 floor, one server, and `--workers 2`.
 */
export async function runUnarySection(
  o: UnarySectionOptions,
): Promise<{ rows: TableRow[]; results: Record<string, unknown> }> {
  const rows: TableRow[] = [];
  const results: Record<string, unknown> = {};
  const cores = availableParallelism();
  const ghz = await ensureGhz(o.log);
  if (ghz === undefined) {
    rows.push({
      id: "unary",
      what: "Score under ghz",
      value: "ghz unavailable",
      goal: "≥ 10k",
      verdict: "MISS",
    });
  }
  const h2load = await ensureH2load(o.log);
  const workers = ghz !== undefined || h2load !== undefined ? await o.startWorkers(2) : undefined;
  let floor: ServerProcess | undefined;
  let logged: ServerProcess | undefined;
  try {
    floor = ghz !== undefined || h2load !== undefined ? await o.startFloor() : undefined;
    logged =
      h2load !== undefined ? await o.startWithFlags(["--log-level", "info"], "pipe") : undefined;
    if (ghz !== undefined && workers !== undefined && floor !== undefined) {
      o.log("unary: ghz");
      const ghzCpus = Math.max(1, Math.floor(cores / 2));
      const configs: GhzConfig[] = [];
      for (const concurrency of [16, 50]) {
        configs.push(
          { key: `c${concurrency}`, server: o.server, concurrency, cpus: ghzCpus },
          { key: `c${concurrency}.allCores`, server: o.server, concurrency, cpus: undefined },
          { key: `c${concurrency}.floor`, server: floor, concurrency, cpus: ghzCpus },
        );
      }
      configs.push({ key: "workers2.c50", server: workers, concurrency: 50, cpus: ghzCpus });
      const byKey = await ghzRounds(ghz, configs, o);
      for (const [key, runs] of byKey) {
        results[`ghz.${key}x${GHZ_CONNECTIONS}`] = runs;
      }
      const summaryOf = (key: string) => {
        const runs = byKey.get(key) ?? [];
        return {
          rps: summarize(runs.map((r) => r.requestsPerSecond)),
          p99: summarize(runs.map((r) => r.latencyMs.p99)),
          cpu: summarize(runs.map((r) => r.serverCpuMicrosPerCall)),
          ghzCpu: summarize(runs.map((r) => r.ghzCpuMicrosPerCall)),
        };
      };
      for (const concurrency of [16, 50]) {
        const { rps, p99, cpu, ghzCpu } = summaryOf(`c${concurrency}`);
        const all = summaryOf(`c${concurrency}.allCores`);
        const bare = summaryOf(`c${concurrency}.floor`);
        rows.push(
          {
            id: `unary.c${concurrency}.rps`,
            what: `Score under ghz --cpus ${ghzCpus}, ${concurrency} concurrent on ${GHZ_CONNECTIONS} connections, req/s`,
            value: `${fmt(rps)} (${(rps.median / PROTOTYPE_RPS).toFixed(0)}× the prototype's ${PROTOTYPE_RPS})`,
            goal: "≥ 10k",
            verdict: verdict(rps.median, "min", 10_000),
          },
          {
            id: `unary.c${concurrency}.cpu`,
            what: "  same, server CPU per call, µs (→ calls/s per free core)",
            value: `${fmt(cpu, "µs", fixed(0))} → ${si(1e6 / cpu.median)}`,
            goal: "",
            verdict: "",
          },
          {
            id: `unary.c${concurrency}.ghzCpu`,
            what: `  same, ghz's own CPU per call, µs (→ ghz + server: calls/s on ${cores} cores)`,
            value: `${fmt(ghzCpu, "µs", fixed(0))} → ${si((cores * 1e6) / (ghzCpu.median + cpu.median))}`,
            goal: "",
            verdict: "",
          },
          {
            id: `unary.c${concurrency}.p99`,
            what: "  same, latency p99, ms",
            value: fmt(p99, "ms", fixed(1)),
            goal: "≤ 5 ms",
            verdict: verdict(p99.median, "max", 5),
          },
          {
            id: `unary.c${concurrency}.allCores`,
            what: `  same, ghz on all ${cores} cores (no --cpus): req/s; p99; ghz µs/call`,
            value: `${fmt(all.rps)}; p99 ${all.p99.median.toFixed(1)} ms; ghz ${all.ghzCpu.median.toFixed(0)} µs/call (${(all.ghzCpu.median / ghzCpu.median).toFixed(2)}×)`,
            goal: "",
            verdict: "",
          },
          {
            id: `unary.c${concurrency}.floor`,
            what: "  same against the node:http2 floor (canned answer): req/s; p99; µs/call server, ghz",
            value: `${fmt(bare.rps)}; p99 ${fmt(bare.p99, "ms", fixed(1))}; ${bare.cpu.median.toFixed(0)}, ${bare.ghzCpu.median.toFixed(0)}`,
            goal: "",
            verdict: "",
          },
        );
      }
      const w = summaryOf("workers2.c50");
      rows.push({
        id: "unary.workers2.c50.rps",
        what: `Score under ghz --cpus ${ghzCpus}, 50 on ${GHZ_CONNECTIONS} connections, --workers 2, req/s; p99`,
        value: `${fmt(w.rps)}; p99 ${w.p99.median.toFixed(1)} ms; server ${w.cpu.median.toFixed(0)} µs/call`,
        goal: "(≥ 10k)",
        verdict: verdict(w.rps.median, "min", 10_000),
      });
    }

    if (h2load !== undefined && workers !== undefined && floor !== undefined) {
      o.log("unary: h2load");
      for (const [label, key, s] of [
        ["node:http2 floor (canned answer)", "floor", floor],
        ["1 process", "single", o.server],
        ["--workers 2", "workers2", workers],
      ] as const) {
        const status = await checkGrpcScore(s.port);
        if (status !== "0") {
          throw new Error(`h2load's request is not answered with grpc-status 0 but ${status}`);
        }
        for (const streams of [1, 4]) {
          const runs: H2loadRun[] = [];
          for (let i = 0; i < o.repeats; i++) {
            runs.push(await h2loadRun(h2load, s, streams, o.seconds));
          }
          pushOnce(
            o.commands,
            (runs[0] as H2loadResult).command.replace(`127.0.0.1:${s.port}`, "127.0.0.1:PORT"),
          );
          results[`h2load.${key}.m${streams}`] = runs;
          const rps = summarize(runs.map((r) => r.requestsPerSecond));
          const mean = summarize(runs.map((r) => r.meanMs));
          const failed = runs.reduce((a, r) => a + r.failed, 0);
          rows.push(
            {
              id: `unary.h2load.${key}.m${streams}.rps`,
              what: `Score under h2load, 16 connections × ${streams} stream${streams > 1 ? "s" : ""}, ${label}, req/s; mean`,
              value: `${fmt(rps)}; mean ${mean.median.toFixed(1)} ms${failed > 0 ? `; ${failed} failed` : ""}`,
              goal: key === "floor" ? "" : "(≥ 10k)",
              verdict: key === "floor" ? "" : verdict(rps.median, "min", 10_000),
            },
            {
              id: `unary.h2load.${key}.m${streams}.cpu`,
              what: "  same, CPU per call: server, h2load, µs",
              value: `${summarize(runs.map((r) => r.serverCpuMicrosPerCall)).median.toFixed(0)}, ${summarize(runs.map((r) => r.h2loadCpuMicrosPerCall)).median.toFixed(0)}`,
              goal: "",
              verdict: "",
            },
          );
        }
      }
      if (logged !== undefined) {
        // The bench's servers run at --log-level warn; the default, info, adds
        // an `rpc finished` line per call, here to a pipe the bench drains (as
        // under Docker). Taking turns with the warn server.
        o.log("unary: h2load, --log-level info");
        const runs: Record<"warn" | "info", H2loadRun[]> = { warn: [], info: [] };
        for (let i = 0; i < o.repeats; i++) {
          runs.warn.push(await h2loadRun(h2load, o.server, 4, o.seconds));
          runs.info.push(await h2loadRun(h2load, logged, 4, o.seconds));
        }
        results["h2load.logLevel.m4"] = runs;
        const rps = (k: "warn" | "info") => summarize(runs[k].map((r) => r.requestsPerSecond));
        const cpu = (k: "warn" | "info") =>
          summarize(runs[k].map((r) => r.serverCpuMicrosPerCall)).median;
        rows.push({
          id: "unary.h2load.logInfo.m4",
          what: "Score under h2load, 16 × 4 streams, 1 process at --log-level info (the default: a line per call, to a pipe) vs warn, req/s; server µs/call",
          value: `${fmt(rps("info"))} vs ${si(rps("warn").median)}; ${cpu("info").toFixed(0)} vs ${cpu("warn").toFixed(0)} µs (+${(cpu("info") - cpu("warn")).toFixed(0)})`,
          goal: "",
          verdict: "",
        });
      }
    }
  } finally {
    await workers?.stop();
    await floor?.stop();
    await logged?.stop();
  }
  return { rows, results };
}

/** HTTP/2 connections ghz opens in every run. */
const GHZ_CONNECTIONS = 16;

/** One ghz configuration: which server, how many calls in flight, ghz's `--cpus`. */
interface GhzConfig {
  key: string;
  server: ServerProcess;
  concurrency: number;
  cpus: number | undefined;
}

type GhzRun = UnaryResult & { serverCpuMicrosPerCall: number; ghzCpuMicrosPerCall: number };

/**
 * Runs every configuration `o.repeats` times, taking turns (one run of each
 * per round), so that the configurations compared in one row meet the same
 * spells of this shared machine.
 */
async function ghzRounds(
  ghz: string,
  configs: readonly GhzConfig[],
  o: UnarySectionOptions,
): Promise<Map<string, GhzRun[]>> {
  const byKey = new Map<string, GhzRun[]>(configs.map((c) => [c.key, []]));
  for (let i = 0; i < o.repeats; i++) {
    for (const c of configs) {
      const cpu0 = await c.server.cpuSeconds();
      const r = await runGhz({
        ghz,
        port: c.server.port,
        concurrency: c.concurrency,
        connections: GHZ_CONNECTIONS,
        cpus: c.cpus,
        seconds: o.seconds,
      });
      const calls = r.ok + r.errors;
      byKey.get(c.key)?.push({
        ...r,
        serverCpuMicrosPerCall: (((await c.server.cpuSeconds()) - cpu0) / calls) * 1e6,
        ghzCpuMicrosPerCall: (r.loadCpuSeconds / calls) * 1e6,
      });
      pushOnce(o.commands, r.command.replace(`127.0.0.1:${c.server.port}`, "127.0.0.1:PORT"));
    }
  }
  return byKey;
}

/** Lists a command once: the same load runs against several servers, on PORT. */
function pushOnce(commands: string[], command: string): void {
  if (!commands.includes(command)) {
    commands.push(command);
  }
}

export type H2loadRun = H2loadResult & {
  serverCpuMicrosPerCall: number;
  h2loadCpuMicrosPerCall: number;
};

/** One h2load run against `s` on 16 connections, with both sides' CPU per call. */
export async function h2loadRun(
  h2load: string,
  s: ServerProcess,
  streams: number,
  seconds: number,
  prefix?: readonly string[],
): Promise<H2loadRun> {
  const cpu0 = await s.cpuSeconds();
  const r = await runH2load({ h2load, port: s.port, connections: 16, streams, seconds, prefix });
  // CPU covers the warm-up too: count the calls it made at the measured rate.
  const calls = r.succeeded * ((r.seconds + r.warmUpSeconds) / r.seconds);
  return {
    ...r,
    serverCpuMicrosPerCall: (((await s.cpuSeconds()) - cpu0) / calls) * 1e6,
    h2loadCpuMicrosPerCall: (r.loadCpuSeconds / calls) * 1e6,
  };
}
