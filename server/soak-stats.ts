import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Logger } from "pino";

/** One `runtime stats` log line, as parsed back by the soak harness. */
export interface RuntimeStats {
  /** Resident set size, MB. */
  rssMb: number;
  /** V8 heap in use, MB. */
  heapUsedMb: number;
  /** Event-loop delay over the interval, ms (from `monitorEventLoopDelay`, 10 ms resolution). */
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

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
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
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
