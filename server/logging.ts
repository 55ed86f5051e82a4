import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Contribution } from "../detector/detector.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/**
 * The per-RPC logger the logging interceptor puts in `ctx.values`, a pino
 * child with `{ rpc: "netanomaly.v1.ScoringService/Score" }`. Without the
 * interceptor it is `undefined`, and handlers use the logger they were built with.
 */
export const rpcLoggerKey = createContextKey<Logger | undefined>(undefined, {
  description: "per-RPC pino logger",
});

/**
 * Creates the one logging interceptor: a pino child per RPC, one `info` line
 * when a unary call ends or a stream finishes (`code`, `durationMs`), and
 * errors that are not `ConnectError`s (bugs) at `error` under `err`; the client
 * only sees "internal error". No payloads are logged.
 */
export function createLoggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const log = logger.child({ rpc: `${req.service.typeName}/${req.method.name}` });
    req.contextValues.set(rpcLoggerKey, log);
    const start = performance.now();
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (e) {
      logRpcEnd(log, start, e);
      throw e;
    }
    if (!res.stream) {
      logRpcEnd(log, start, undefined);
      return res;
    }
    return { ...res, message: logWhenDone(res.message, log, start, req.signal) };
  };
}

async function* logWhenDone<T>(
  messages: AsyncIterable<T>,
  log: Logger,
  start: number,
  signal: AbortSignal,
) {
  let error: unknown;
  try {
    yield* messages;
  } catch (e) {
    error = e;
    throw e;
  } finally {
    // A stream the client cancelled (or whose deadline passed) is stopped
    // with return(), not an error: report the signal's reason instead of ok.
    if (error === undefined && signal.aborted) {
      error = ConnectError.from(signal.reason, Code.Canceled);
    }
    logRpcEnd(log, start, error);
  }
}

/**
 * Logs the one line that ends an RPC: `info` "rpc finished" with `code` and
 * `durationMs` (and the error's `reason`), or, for an error that is not a
 * `ConnectError` (a bug), `error` "rpc failed" with `err`.
 *
 * @param start `performance.now()` when the call began.
 */
export function logRpcEnd(log: Logger, start: number, error: unknown): void {
  if ((error === undefined || error instanceof ConnectError) && !log.isLevelEnabled("info")) {
    return; // an `rpc finished` line at info, which is off: nothing to build
  }
  const durationMs = Math.round((performance.now() - start) * 1000) / 1000;
  if (error === undefined) {
    log.info({ code: "ok", durationMs }, "rpc finished");
    return;
  }
  if (error instanceof ConnectError) {
    log.info({ code: codeName(error.code), durationMs, reason: error.rawMessage }, "rpc finished");
    return;
  }
  // A bug: Connect answers `internal` / "internal error"; the details stay here.
  log.error({ code: "internal", durationMs, err: error }, "rpc failed");
}

/** `Code.InvalidArgument` → `"invalid_argument"`, the wire spelling. */
export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();
}

/** What an anomaly log line says about the event and its score. */
export interface AnomalyReport {
  score: number;
  threshold: number;
  modelVersion: string;
  contributions: readonly Contribution[];
  /** `request_id` of the stream batch, if the event came in one. */
  requestId?: string;
}

/** Decimal places of scores and thresholds in log lines (scores lie in (0, 1]). */
export const LOG_SCORE_PLACES = 4;

/** Decimal places of feature contributions (tree levels) and feature values in log lines. */
export const LOG_FEATURE_PLACES = 2;

/**
 * Rounds a number for a log line that people read: `0.8912` rather than
 * `0.8912345678901234`. The wire keeps full precision; only logs round.
 */
export function roundForLog(x: number, places: number): number {
  const scale = 10 ** places;
  return Math.round(x * scale) / scale;
}

/** Default most `anomalous event` lines per second; twice as many may come at once. */
export const DEFAULT_ANOMALY_LINES_PER_SECOND = 100;

/**
 * The anomaly lines' budget, one per process: a flood of anomalous events
 * (each line is up to ~2.4 KB) cannot fill the disk through the log (issue
 * 23, item 11). Lines over it are dropped and counted; the next line written
 * carries `droppedAnomalyLines`, and if none comes within a second, an
 * `anomaly lines dropped` line reports the count.
 */
const anomalyBudget = {
  rate: DEFAULT_ANOMALY_LINES_PER_SECOND,
  tokens: 2 * DEFAULT_ANOMALY_LINES_PER_SECOND,
  last: performance.now(),
  unreported: 0,
  dropped: 0,
  reporter: undefined as NodeJS.Timeout | undefined,
};

/** Sets the anomaly lines' budget (`--anomaly-log-rate`); 0 means no limit. */
export function setAnomalyLogRate(linesPerSecond: number): void {
  anomalyBudget.rate = linesPerSecond;
  anomalyBudget.tokens = 2 * linesPerSecond;
  anomalyBudget.last = performance.now();
}

/** Anomaly lines dropped by the budget since the process started. */
export function anomalyLinesDropped(): number {
  return anomalyBudget.dropped;
}

/** Takes one line from the budget: false if it is spent (the line is counted as dropped). */
function takeAnomalyLine(log: Logger): boolean {
  const b = anomalyBudget;
  if (b.rate <= 0) return true;
  const now = performance.now();
  b.tokens = Math.min(2 * b.rate, b.tokens + ((now - b.last) / 1000) * b.rate);
  b.last = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return true;
  }
  b.unreported++;
  b.dropped++;
  if (b.reporter === undefined) {
    b.reporter = setTimeout(() => {
      b.reporter = undefined;
      if (b.unreported > 0) {
        log.warn({ droppedAnomalyLines: b.unreported }, "anomaly lines dropped");
        b.unreported = 0;
      }
    }, 1_000);
    b.reporter.unref();
  }
  return false;
}

/**
 * Logs one anomalous event at `warn`: score, threshold, model version, top
 * features and the fields that identify the connection (process, parent,
 * destination, port, protocol). Never the whole event, never user or DNS data.
 * Numbers are rounded for reading ({@link LOG_SCORE_PLACES} places for score
 * and threshold, {@link LOG_FEATURE_PLACES} for contributions and values).
 */
export function logAnomaly(log: Logger, event: NetworkEvent, report: AnomalyReport): void {
  if (!takeAnomalyLine(log)) {
    return;
  }
  const dropped = anomalyBudget.unreported;
  anomalyBudget.unreported = 0;
  unredacted(log).warn(
    {
      ...(dropped > 0 ? { droppedAnomalyLines: dropped } : {}),
      score: roundForLog(report.score, LOG_SCORE_PLACES),
      threshold: roundForLog(report.threshold, LOG_SCORE_PLACES),
      modelVersion: report.modelVersion,
      requestId: report.requestId,
      topFeatures: report.contributions.map((c) => ({
        feature: c.feature,
        contribution: roundForLog(c.contribution, LOG_FEATURE_PLACES),
        value: roundForLog(c.value, LOG_FEATURE_PLACES),
      })),
      process: cut(event.processPath),
      parentProcess: cut(event.parentProcess),
      destIp: event.destIp,
      destDomain: cut(event.destDomain),
      destPort: event.destPort,
      protocol: cut(event.protocol),
    },
    "anomalous event",
  );
}

const unredactedOf = new WeakMap<Logger, Logger>();

/**
 * A child of `log` without the server's redaction paths, for anomaly lines
 * only. Their keys are fixed above and none can hold an `authorization`
 * value, and the wildcard paths made each line cost about 21–25 µs instead
 * of 3.6 (pino 10, 50,000 lines, .scratch timing), a fifth of the server's
 * CPU under streamed load. One child per RPC logger, kept while it lives.
 */
function unredacted(log: Logger): Logger {
  let child = unredactedOf.get(log);
  if (child === undefined) {
    child = log.child({}, { redact: { paths: [] } });
    unredactedOf.set(log, child);
  }
  return child;
}

/** Keeps log lines bounded: validated fields can still be 1024 characters. */
function cut(value: string): string {
  return value.length > 256 ? `${value.slice(0, 256)}…` : value;
}
