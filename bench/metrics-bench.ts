import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { pino } from "pino";
import { loadModel } from "../detector/index.js";
import {
  ScoringService,
  StreamScoreRequestSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createServerMetrics } from "../metrics/index.js";
import { type ScoringObserver, scoreBatchRequest } from "../server/scoring-service.js";
import { simulatorEvents } from "./engine-fixture.js";
import { freePort, type ServerMode, startServer } from "./server-process.js";
import { type Summary, summarize } from "./stats.js";
import { runStreamLoadProcess } from "./stream-bench.js";

/**
 * What `--metrics` costs: StreamScore throughput of the same server with
 * Prometheus metrics on and off, measured in one run. Two servers start
 * side by side (one with `--metrics 127.0.0.1:PORT`, one without) and the
 * closed-loop load client (`bench/stream-load.ts`) drives them in turn, the
 * order swapped each repeat, so both meet the same spells of a shared
 * machine. Besides events/s, each run records the server's CPU seconds per
 * event (from /proc), the steadier figure when other work shares the cores.
 * The metrics server is scraped after each of its runs, as Prometheus would,
 * and its `netanomaly_events_scored_total` must have grown by the events the
 * load client saw scored.
 */

/** Options for {@link measureMetricsCost}. */
export interface MetricsBenchOptions {
  /** Repository root (cwd of the servers and the load client). */
  root: string;
  /** Model file; default `models/default.model.json` under `root`. */
  model?: string;
  mode?: ServerMode;
  /** Pairs of runs; default 5. */
  repeats?: number;
  /** Seconds per run; default 5. */
  seconds?: number;
  /** Concurrent streams; default 4. */
  streams?: number;
  /** Events per StreamScore message; default 100. */
  batch?: number;
}

/** One side's runs. */
export interface MetricsSide {
  eventsPerSecond: Summary;
  /** Server CPU microseconds per scored event. */
  cpuMicrosPerEvent: Summary;
}

/** What {@link measureMetricsCost} found. */
export interface MetricsBenchResult {
  off: MetricsSide;
  on: MetricsSide;
  /** on ÷ off events/s, pair by pair (1 = no cost). */
  throughputRatio: Summary;
  /** on ÷ off CPU per event, pair by pair (1 = no cost). */
  cpuRatio: Summary;
  /** How the runs were made, for the report. */
  command: string;
}

/** Measures StreamScore with metrics on and off; see the file comment. */
export async function measureMetricsCost(o: MetricsBenchOptions): Promise<MetricsBenchResult> {
  const repeats = o.repeats ?? 5;
  const seconds = o.seconds ?? 5;
  const streams = o.streams ?? 4;
  const batch = o.batch ?? 100;
  const model = o.model ?? join(o.root, "models/default.model.json");
  const mode = o.mode ?? "tsx";
  const metricsPort = await freePort();
  const off = await startServer(mode, model, { cwd: o.root });
  const on = await startServer(mode, model, {
    cwd: o.root,
    extraArgs: ["--metrics", `127.0.0.1:${metricsPort}`],
  });
  const scrape = async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return Number(/^netanomaly_events_scored_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  };
  const sides = { off: { eps: [] as number[], cpu: [] as number[] }, on: { eps: [], cpu: [] } } as {
    off: { eps: number[]; cpu: number[] };
    on: { eps: number[]; cpu: number[] };
  };
  const once = async (which: "off" | "on") => {
    const server = which === "on" ? on : off;
    const before = which === "on" ? await scrape() : 0;
    const cpu0 = await server.cpuSeconds();
    const r = await runStreamLoadProcess({ url: server.url, streams, batch, seconds });
    const cpu = (await server.cpuSeconds()) - cpu0;
    if (r.errors > 0 || r.scored === 0) {
      throw new Error(`metrics bench: ${which} run scored ${r.scored} with ${r.errors} errors`);
    }
    if (which === "on") {
      const grown = (await scrape()) - before;
      if (grown < r.scored) {
        throw new Error(
          `metrics bench: /metrics counted ${grown} events, the load saw ${r.scored}`,
        );
      }
    }
    sides[which].eps.push(r.eventsPerSecond);
    sides[which].cpu.push((cpu / r.scored) * 1e6);
  };
  try {
    // One warm-up each, not recorded: JIT and connection set-up.
    await runStreamLoadProcess({ url: off.url, streams, batch, seconds: 2 });
    await runStreamLoadProcess({ url: on.url, streams, batch, seconds: 2 });
    for (let i = 0; i < repeats; i++) {
      const order: ("off" | "on")[] = i % 2 === 0 ? ["off", "on"] : ["on", "off"];
      for (const which of order) await once(which);
    }
  } finally {
    await Promise.all([off.stop(), on.stop()]);
  }
  const ratio = (k: "eps" | "cpu") => sides.on[k].map((x, i) => x / (sides.off[k][i] as number));
  const side = (s: { eps: number[]; cpu: number[] }): MetricsSide => ({
    eventsPerSecond: summarize(s.eps),
    cpuMicrosPerEvent: summarize(s.cpu),
  });
  return {
    off: side(sides.off),
    on: side(sides.on),
    throughputRatio: summarize(ratio("eps")),
    cpuRatio: summarize(ratio("cpu")),
    command: `${repeats} pairs of ${seconds} s closed-loop runs, ${streams} streams × ${batch} events (bench/stream-load.ts), server (${mode}) with and without --metrics`,
  };
}

/** What {@link measureMetricsHookCost} found. */
export interface MetricsHookResult {
  /** Events per CPU-second through `scoreBatchRequest` without metrics. */
  off: Summary;
  /** The same with the metrics observer and one gRPC message in and out per batch. */
  on: Summary;
  /** on ÷ off, run by run (1 = no cost). */
  ratio: Summary;
  /**
   * The hooks alone, timed apart from scoring (steadier on a busy machine):
   * CPU nanoseconds per event of one batch's observer call plus its gRPC
   * message counts, and that as a share of `off`'s CPU time per event.
   */
  hookNanosPerEvent: Summary;
  hookShare: Summary;
  command: string;
}

/**
 * The metrics' cost without the network's noise: `scoreBatchRequest` (what
 * both transports call per StreamScore message: validate, score, explain
 * and log anomalies) on simulator batches, in this process, with and
 * without the metrics hooks the server adds per batch (product metrics and
 * the score histogram through the observer, a gRPC message received and
 * sent). Runs alternate; rates are per CPU-second.
 */
export async function measureMetricsHookCost(o: {
  root: string;
  repeats?: number;
  batches?: number;
  batch?: number;
}): Promise<MetricsHookResult> {
  const repeats = o.repeats ?? 9;
  const batches = o.batches ?? 400;
  const size = o.batch ?? 100;
  const detector = await loadModel(join(o.root, "models/default.model.json"));
  const events = simulatorEvents(batches * size, 2, 0.02);
  const requests = Array.from({ length: batches }, (_, b) =>
    create(StreamScoreRequestSchema, {
      requestId: String(b),
      events: events.slice(b * size, (b + 1) * size),
    }),
  );
  const log = pino({ level: "silent" });
  const metrics = createServerMetrics({ threshold: detector.threshold, reasons: [] });
  const observer: ScoringObserver = {
    scored: (_d, scores, n, anomalies) => metrics.product.scored(scores, n, anomalies.length),
    rejected: (field, n) => metrics.product.rejected(field, n),
    rateLimited: () => metrics.product.rateLimited(),
  };
  const scores = new Float64Array(1000);
  const run = (withMetrics: boolean) => {
    const c0 = process.cpuUsage();
    const call = withMetrics
      ? metrics.grpc.start(ScoringService.typeName, "StreamScore", "bidi_stream")
      : undefined;
    for (const req of requests) {
      call?.received();
      scoreBatchRequest(req, detector, scores, log, undefined, withMetrics ? observer : undefined);
      call?.sent();
    }
    call?.end(undefined);
    const c = process.cpuUsage(c0);
    return (batches * size) / ((c.user + c.system) / 1e6);
  };
  run(false);
  run(true);
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < repeats; i++) {
    if (i % 2 === 0) {
      off.push(run(false));
      on.push(run(true));
    } else {
      on.push(run(true));
      off.push(run(false));
    }
  }
  // The hooks alone, on the scores of the last batch.
  const call = metrics.grpc.start(ScoringService.typeName, "StreamScore", "bidi_stream");
  const hookRuns: number[] = [];
  const rounds = 20_000;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < rounds; i++) {
      call.received();
      metrics.product.scored(scores, size, 2);
      call.sent();
    }
    const c = process.cpuUsage(c0);
    hookRuns.push(((c.user + c.system) * 1000) / (rounds * size));
  }
  const hook = summarize(hookRuns);
  const offSummary = summarize(off);
  return {
    off: offSummary,
    on: summarize(on),
    ratio: summarize(on.map((x, i) => x / (off[i] as number))),
    hookNanosPerEvent: hook,
    hookShare: summarize(hookRuns.map((ns) => ns * 1e-9 * offSummary.median)),
    command: `${repeats} alternating runs of ${batches} batches × ${size} simulator events (2 % attacks) through scoreBatchRequest, in process`,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(import.meta.dirname, "..");
  const repeats = Number(process.env.REPEATS ?? 5);
  const seconds = Number(process.env.SECONDS ?? 5);
  const which = process.argv[2] ?? "both";
  (async () => ({
    ...(which === "server" ? {} : { hooks: await measureMetricsHookCost({ root }) }),
    ...(which === "hooks" ? {} : { server: await measureMetricsCost({ root, repeats, seconds }) }),
  }))().then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e: unknown) => {
      process.stderr.write(`metrics bench: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
