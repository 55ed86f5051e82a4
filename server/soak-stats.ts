import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Logger } from "pino";

/** One `runtime stats` log line, as parsed back by the soak harness. */
export interface RuntimeStats {
  /** Resident set size, MB. */
  rssMb: number;
  /** V8 heap in use, MB. */
  heapUsedMb: number;
  /**
   * Event-loop delay over the interval, ms: how late the 10 ms sampling timer
   * of `monitorEventLoopDelay` fired (its histogram holds whole timer periods,
   * so the 10 ms are subtracted; 0 is an idle loop).
   */
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** Sampling period of the event-loop delay histogram, ms. */
const RESOLUTION_MS = 10;

/** Message of the stats line; the soak harness looks for it. */
export const STATS_MESSAGE = "runtime stats";

/**
 * Logs memory and event-loop delay at `info` every `intervalMs`
 * (`--stats-interval S`), then resets the delay histogram, so each line covers
 * one interval. For soak runs: no proto change, the harness reads stdout.
 *
 * @returns a function that stops the logging.
 */
export function startStatsLog(logger: Logger, intervalMs: number): () => void {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  const ms = (ns: number) => Math.round(Math.max(0, ns / 1e6 - RESOLUTION_MS) * 100) / 100;
  const timer = setInterval(() => {
    const mem = process.memoryUsage();
    const stats: RuntimeStats = {
      rssMb: mb(mem.rss),
      heapUsedMb: mb(mem.heapUsed),
      loopDelayP50Ms: ms(delay.percentile(50)),
      loopDelayP99Ms: ms(delay.percentile(99)),
      loopDelayMaxMs: ms(delay.max),
    };
    delay.reset();
    logger.info(stats, STATS_MESSAGE);
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}
