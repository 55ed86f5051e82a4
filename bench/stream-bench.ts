import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { StreamLoadResult } from "./stream-load.js";

const run = promisify(execFile);

/** Options of one `bench/stream-load.ts` run (see that file). */
export interface StreamLoadOptions {
  url: string;
  streams: number;
  batch: number;
  /** Events/s; 0 = closed loop. */
  rate?: number;
  window?: number;
  seconds: number;
}

/** The command line of a load run, for the report. */
export function streamLoadCommand(o: StreamLoadOptions): string[] {
  return [
    "node",
    "--import",
    "tsx",
    "bench/stream-load.ts",
    "--url",
    o.url,
    "--streams",
    String(o.streams),
    "--batch",
    String(o.batch),
    "--rate",
    String(o.rate ?? 0),
    "--window",
    String(o.window ?? 16),
    "--seconds",
    String(o.seconds),
  ];
}

/** Runs the lean load client in its own process, bounded by `timeout`. */
export async function runStreamLoadProcess(o: StreamLoadOptions): Promise<StreamLoadResult> {
  const [cmd, ...args] = streamLoadCommand(o);
  const { stdout } = await run("timeout", [String(o.seconds + 30), cmd as string, ...args], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as StreamLoadResult;
}

/** What `npm run agent -- … --json` reports, the parts the benchmark reads. */
export interface AgentRun {
  eventsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  scored: number;
  errors: number;
  lost: number;
  command: string;
}

/** Runs the real agent (simulator source, StreamScore) in its own process. */
export async function runAgentProcess(o: {
  url: string;
  batch: number;
  count: number;
  rate?: number;
}): Promise<AgentRun> {
  const flags = [
    "--target",
    o.url,
    "--rate",
    String(o.rate ?? 0),
    "--batch",
    String(o.batch),
    "--count",
    String(o.count),
    "--json",
  ];
  const { stdout } = await run(
    "timeout",
    ["120", "node", "--import", "tsx", "agent/main.ts", ...flags],
    {
      maxBuffer: 1 << 24,
    },
  );
  const s = JSON.parse(stdout.trim().split("\n").pop() as string) as {
    events_per_s: number;
    latency_ms: { p50: number; p99: number };
    scored: number;
    errors: number;
    lost: number;
  };
  return {
    eventsPerSecond: s.events_per_s,
    latencyMs: s.latency_ms,
    scored: s.scored,
    errors: s.errors,
    lost: s.lost,
    command: `npm run agent -- ${flags.join(" ").replace(o.url, "URL")}`,
  };
}
