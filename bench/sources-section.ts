/**
 * The `sources` section of `npm run bench`: what reading real telemetry
 * costs. Flow decoding (records/s per core), the log readers against a
 * plain parse of the same lines (lines/s per core), and the host
 * collector's CPU at 100 and 1,000 new connections/s (% of one core, the
 * agent and its `ss`/`tcpdump` children together).
 */
import { runFlowDecodeBench } from "./flow-decode-bench.js";
import { type HostCollectorBenchRow, runHostCollectorBench } from "./host-collector-bench.js";
import { logReadersRows, runLogReadersBench } from "./log-readers-bench.js";
import { fmt, type TableRow, verdict } from "./report.js";
import { type Summary, spread, summarize } from "./stats.js";

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
    rows.push(...(await hostCollectorRows(options, results)));
  } else {
    options.log("sources: the host collector's CPU needs Linux and root; skipped");
  }
  return { rows, results };
}

/**
 * The host collector's CPU with each socket lister, one after the other: the
 * sockdiag helper (the default) and `ss` (the fallback), connecting to a peer
 * in another network namespace (one socket per connection, as a host's
 * connections to other machines are). Windows idle and at 100/s once, at
 * 1,000/s `repeats` times (median, min–max), then the ratio of the two
 * medians; and the helper once more on loopback, where each connection is
 * two sockets (client and server), so twice the events.
 */
async function hostCollectorRows(
  options: SourcesSectionOptions,
  results: Record<string, unknown>,
): Promise<TableRow[]> {
  const rows: TableRow[] = [];
  const repeats = options.quick ? 1 : Math.max(1, Math.min(options.repeats, 3));
  const at1000: Record<string, Summary> = {};
  const loopbackRows: TableRow[] = [];
  for (const lister of ["sockdiag", "ss"] as const) {
    options.log(
      `sources: host collector CPU under new connections to a peer namespace, lister ${lister}`,
    );
    const host = await runHostCollectorBench({
      lister,
      rates: [0, 100, ...Array<number>(repeats).fill(1000)],
      seconds: options.quick ? 4 : 10,
      log: (line) => options.log(`sources: ${lister}: ${line}`),
    });
    results[`hostCollector.${lister}`] = host;
    if (lister === "sockdiag") {
      options.log("sources: host collector CPU, lister sockdiag, loopback connections");
      const loop = await runHostCollectorBench({
        lister,
        peer: "loopback",
        rates: [1000],
        seconds: options.quick ? 4 : 10,
        log: (line) => options.log(`sources: sockdiag loopback: ${line}`),
      });
      results["hostCollector.sockdiag.loopback"] = loop;
      for (const r of loop) {
        loopbackRows.push({
          id: "sources.host.sockdiag.loopback.cpu.1000",
          what: `host collector (sockdiag) at 1000 loopback connections/s (two sockets each): % of one core (agent ${r.agentPercent.toFixed(1)}, lister ${r.listerPercent.toFixed(1)}); ${r.events} events`,
          value: r.cpuPercent.toFixed(1),
          goal: "",
          verdict: "",
        });
      }
    }
    const fast = host.filter((r) => r.rate === 1000);
    const total = summarize(fast.map((r) => r.cpuPercent));
    at1000[lister] = total;
    const parts = (pick: (r: HostCollectorBenchRow) => number) =>
      summarize(fast.map(pick)).median.toFixed(1);
    const pct = (x: number) => x.toFixed(1);
    for (const r of host.filter((r) => r.rate !== 1000)) {
      rows.push({
        id: `sources.host.${lister}.cpu.${r.rate}`,
        what: `host collector (${lister}) at ${r.rate} new connections/s to a peer namespace: % of one core (agent ${pct(r.agentPercent)}, lister ${pct(r.listerPercent)}, ss -E ${pct(r.ssDestroyPercent)}, tcpdump ${pct(r.capturePercent)}); ${r.events} events`,
        value: pct(r.cpuPercent),
        goal: "",
        verdict: "",
      });
    }
    const main = lister === "sockdiag";
    rows.push({
      id: `sources.host.${lister}.cpu.1000`,
      what: `host collector (${lister}) at 1000 new connections/s to a peer namespace, ${fast.length} windows: % of one core (medians: agent ${parts((r) => r.agentPercent)}, lister ${parts((r) => r.listerPercent)}, ss -E ${parts((r) => r.ssDestroyPercent)}, tcpdump ${parts((r) => r.capturePercent)}); ${fast[0]?.events ?? 0} events a window`,
      value: spread(total, pct),
      goal: main ? "< 2 %" : "",
      verdict: main ? verdict(total.median, "max", 2) : "",
    });
  }
  rows.push(...loopbackRows);
  const { sockdiag, ss } = at1000;
  if (sockdiag !== undefined && ss !== undefined) {
    rows.push({
      id: "sources.host.ratio",
      what: "  ss lister / sockdiag lister at 1000 new connections/s, CPU (medians)",
      value: `${(ss.median / sockdiag.median).toFixed(2)}×`,
      goal: "",
      verdict: "",
    });
  }
  return rows;
}
