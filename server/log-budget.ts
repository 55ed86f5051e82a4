import type { Logger } from "pino";

/** Options for {@link createLogBudget}. */
export interface LogBudgetOptions {
  /** Lines per second allowed on average. */
  linesPerSecond: number;
  /** Lines allowed at once after a quiet spell. */
  burst: number;
  /** Level to log at; default warn. */
  level?: "warn" | "info" | "error";
  /** Clock in ms, for tests; default `performance.now`. */
  now?: () => number;
}

/** Logs one line if the budget allows; the first line after drops carries `droppedLines`. */
export type BudgetedLog = ((fields: object, message: string) => boolean) & {
  /** Lines dropped so far, in total. */
  readonly dropped: number;
};

/**
 * A token bucket in front of a logger, so a client cannot make the server
 * write lines (and fill a disk) as fast as it can send requests. Lines over
 * the budget are dropped and counted; the next line that is written carries
 * `droppedLines`, the count since the previous written line.
 */
export function createLogBudget(logger: Logger, options: LogBudgetOptions): BudgetedLog {
  const now = options.now ?? (() => performance.now());
  const level = options.level ?? "warn";
  let tokens = options.burst;
  let last = now();
  let droppedSince = 0;
  let dropped = 0;
  const log = (fields: object, message: string): boolean => {
    const t = now();
    tokens = Math.min(options.burst, tokens + ((t - last) / 1000) * options.linesPerSecond);
    last = t;
    if (tokens < 1) {
      droppedSince++;
      dropped++;
      return false;
    }
    tokens -= 1;
    if (droppedSince > 0) {
      logger[level]({ ...fields, droppedLines: droppedSince }, message);
      droppedSince = 0;
    } else {
      logger[level](fields, message);
    }
    return true;
  };
  Object.defineProperty(log, "dropped", { get: () => dropped });
  return log as BudgetedLog;
}
