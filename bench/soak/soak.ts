import { createGrpcTransport } from "@connectrpc/connect-node";
import { runAgent, type Summary } from "../../agent/run-agent.js";
import { ackCounter } from "./ack-counter.js";
import { freePort, killServer, spawnServer } from "./server-child.js";

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** Length of the load, seconds. */
  durationS: number;
  /** Agent events per second. Default 1000. */
  rate?: number;
  /** Seconds between samples (and the server's `runtime stats` lines). Default 5. */
  sampleS?: number;
  /** RSS at this many seconds is the baseline. Default min(60, durationS / 4). */
  warmupS?: number;
  /** Verdict bound on RSS growth from the baseline to the end, percent. Default 10. */
  maxGrowthPct?: number;
  /** Model file; default the repository's default model. */
  model?: string;
  /** Called with each sample as it is taken. */
  onSample?: (sample: SoakSample) => void;
}

/** One row of the soak table. */
export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  /** Server resident set size from /proc/PID/status, MB. */
  rssMb: number;
  /** From the server's latest `runtime stats` line (NaN before the first). */
  heapUsedMb: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Events acknowledged so far. */
  acked: number;
  /** Acknowledged events per second since the previous sample. */
  eventsPerS: number;
}

/** What {@link runSoak} found. */
export interface SoakResult {
  durationS: number;
  rate: number;
  samples: SoakSample[];
  /** RSS at the end of warm-up, MB. */
  baselineRssMb: number;
  /** Mean RSS of the last three samples, MB. */
  endRssMb: number;
  /** Largest RSS sampled, MB. */
  peakRssMb: number;
  growthPct: number;
  maxGrowthPct: number;
  /** Largest event-loop delay p99 over the run, ms. */
  worstLoopDelayP99Ms: number;
  agent: Summary;
  /** Exit of the server after SIGTERM: 0 expected. */
  serverExitCode: number | null;
  pass: boolean;
}

/**
 * Starts the real server (child process) with `NETANOMALY_STATS_INTERVAL`,
 * streams a steady load at it with the agent for `durationS`, samples RSS
 * from /proc and event-loop delay from the server's `runtime stats` lines, and
 * judges RSS growth from the end of warm-up to the end of the run. Passes when
 * growth stays under `maxGrowthPct`, the agent lost nothing, and the server
 * exits 0 on SIGTERM.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const rate = options.rate ?? 1000;
  const sampleS = options.sampleS ?? 5;
  const warmupS = options.warmupS ?? Math.min(60, options.durationS / 4);
  const maxGrowthPct = options.maxGrowthPct ?? 10;
  const port = await freePort();
  let stats: Record<string, unknown> | undefined;
  const server = spawnServer({
    port,
    ...(options.model !== undefined ? { model: options.model } : {}),
    args: ["--stats-interval", String(sampleS)],
    onLine: (line) => {
      if (line.msg === "runtime stats") stats = line;
    },
  });
  try {
    await server.listening;
    let acked = 0;
    const samples: SoakSample[] = [];
    const start = performance.now();
    let last = { t: 0, acked: 0 };
    const take = () => {
      const t = (performance.now() - start) / 1000;
      const num = (k: string) =>
        typeof stats?.[k] === "number" ? (stats[k] as number) : Number.NaN;
      const sample: SoakSample = {
        t: Math.round(t * 10) / 10,
        rssMb: Math.round(server.rssMb() * 10) / 10,
        heapUsedMb: num("heapUsedMb"),
        loopDelayP50Ms: num("loopDelayP50Ms"),
        loopDelayP99Ms: num("loopDelayP99Ms"),
        loopDelayMaxMs: num("loopDelayMaxMs"),
        acked,
        eventsPerS: Math.round((acked - last.acked) / Math.max(t - last.t, 1e-3)),
      };
      last = { t, acked };
      samples.push(sample);
      options.onSample?.(sample);
    };
    const timer = setInterval(take, sampleS * 1000);
    const agent = await runAgent({
      transport: createGrpcTransport({
        baseUrl: `http://127.0.0.1:${port}`,
        interceptors: [
          ackCounter((n) => {
            acked += n;
          }),
        ],
      }),
      durationS: options.durationS,
      rate,
      anomalyRate: 0.02,
      seed: 11,
    });
    clearInterval(timer);
    take();
    server.child.kill("SIGTERM");
    const exit = await server.exited;

    const baseline = samples.find((s) => s.t >= warmupS) ?? samples[0];
    const tail = samples.slice(-3);
    const endRssMb = tail.reduce((a, s) => a + s.rssMb, 0) / Math.max(tail.length, 1);
    const baselineRssMb = baseline?.rssMb ?? Number.NaN;
    const growthPct = ((endRssMb - baselineRssMb) / baselineRssMb) * 100;
    const delays = samples.map((s) => s.loopDelayP99Ms).filter(Number.isFinite);
    return {
      durationS: options.durationS,
      rate,
      samples,
      baselineRssMb,
      endRssMb: Math.round(endRssMb * 10) / 10,
      peakRssMb: Math.max(...samples.map((s) => s.rssMb)),
      growthPct: Math.round(growthPct * 10) / 10,
      maxGrowthPct,
      worstLoopDelayP99Ms: delays.length > 0 ? Math.max(...delays) : Number.NaN,
      agent,
      serverExitCode: exit.code,
      pass:
        growthPct < maxGrowthPct &&
        agent.lost === 0 &&
        agent.fatal === undefined &&
        exit.code === 0,
    };
  } finally {
    await killServer(server);
  }
}

/** The samples as a fixed-width table, one row per sample. */
export function formatSoakTable(samples: readonly SoakSample[]): string {
  const head = [
    "t s",
    "RSS MB",
    "heap MB",
    "loop p50 ms",
    "loop p99 ms",
    "loop max ms",
    "acked",
    "ev/s",
  ];
  const rows = samples.map((s) => [
    s.t.toFixed(0),
    s.rssMb.toFixed(1),
    Number.isFinite(s.heapUsedMb) ? s.heapUsedMb.toFixed(1) : "-",
    Number.isFinite(s.loopDelayP50Ms) ? s.loopDelayP50Ms.toFixed(2) : "-",
    Number.isFinite(s.loopDelayP99Ms) ? s.loopDelayP99Ms.toFixed(2) : "-",
    Number.isFinite(s.loopDelayMaxMs) ? s.loopDelayMaxMs.toFixed(2) : "-",
    String(s.acked),
    String(s.eventsPerS),
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  );
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] as number)).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}
