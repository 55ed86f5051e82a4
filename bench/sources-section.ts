/**
 * The `sources` section of `npm run bench`: what reading real telemetry
 * costs. Flow decoding (records/s per core), the log readers against a
 * plain parse of the same lines (lines/s per core), and the host
 * collector's CPU at 100 and 1,000 new connections/s (% of one core, the
 * agent and its `ss`/`tcpdump` children together).
 */
import { runFlowDecodeBench } from "./flow-decode-bench.js";
import { runHostCollectorBench } from "./host-collector-bench.js";
import { logReadersRows, runLogReadersBench } from "./log-readers-bench.js";
import { fmt, type TableRow, verdict } from "./report.js";

/** Options of {@link runSourcesSection}. */
export interface SourcesSectionOptions {
  repeats: number;
  quick: boolean;
  log: (line: string) => void;
}

/** Runs the three measurements; returns table rows and the raw results. */
export async function runSourcesSection(
  options: SourcesSectionOptions,
): Promise<{ rows: TableRow[]; results: Record<string, unknown> }> {
  const rows: TableRow[] = [];
  const results: Record<string, unknown> = {};
  options.log("sources: flow decoding");
  const flow = runFlowDecodeBench({ repeats: options.repeats });
  results.flowDecode = flow;
  rows.push(
    {
      id: "sources.flow.decode",
      what: `IPFIX decode, softflowd's template, ${flow.records} records a run (records/s per core)`,
      value: fmt(flow.decode.cpu, "records/s"),
      goal: "",
      verdict: "",
    },
    {
      id: "sources.flow.pipeline",
      what: "  decode + pair both directions + NetworkEvent (records/s per core)",
      value: fmt(flow.pipeline.cpu, "records/s"),
      goal: "",
      verdict: "",
    },
  );
  options.log("sources: log readers");
  const logs = await runLogReadersBench({
    lines: options.quick ? 50_000 : 200_000,
    repeats: options.repeats,
  });
  results.logReaders = logs;
  rows.push(...logReadersRows(logs));
  if (process.platform === "linux" && process.getuid?.() === 0) {
    options.log("sources: host collector CPU under new loopback connections");
    const host = await runHostCollectorBench({
      rates: [0, 100, 1000],
      seconds: options.quick ? 4 : 10,
      log: (line) => options.log(`sources: ${line}`),
    });
    results.hostCollector = host;
    for (const r of host) {
      rows.push({
        id: `sources.host.cpu.${r.rate}`,
        what: `host collector at ${r.rate} new connections/s: % of one core (agent ${r.agentPercent.toFixed(1)}, ss polls ${r.ssPollPercent.toFixed(1)}, ss -E ${r.ssDestroyPercent.toFixed(1)}, tcpdump ${r.capturePercent.toFixed(1)}); ${r.events} events`,
        value: r.cpuPercent.toFixed(1),
        goal: r.rate === 1000 ? "< 2 %" : "",
        verdict: r.rate === 1000 ? verdict(r.cpuPercent, "max", 2) : "",
      });
    }
  } else {
    options.log("sources: the host collector's CPU needs Linux and root; skipped");
  }
  return { rows, results };
}
