import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags, UsageError } from "../cli/usage-error.js";
import { DEFAULT_MAX_MODEL_BYTES } from "../detector/model-file.js";
import { parseSecurityConfig, SECURITY_FLAGS, type SecurityConfig } from "./auth-config.js";
import { availableCpus } from "./cpu-limit.js";
import { LEARN_FLAGS, type LearnConfig, parseLearnConfig } from "./learn-config.js";
import { DEFAULT_ANOMALY_LINES_PER_SECOND } from "./logging.js";
import {
  OPERATIONS_FLAGS,
  type OperationsConfig,
  parseOperationsConfig,
} from "./operations-config.js";

/**
 * Repository (or image) root: the nearest folder above this file holding
 * `package.json`, so the default model path is the same from `server/*.ts`
 * under tsx and from `dist/server/*.js` after `npm run build`.
 */
export const REPO_ROOT = findRoot(fileURLToPath(new URL(".", import.meta.url)));

function findRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "package.json"))) return d;
    if (dirname(d) === d) return resolve(dir, "..");
  }
}

/** Model loaded when neither `--model` nor `NETANOMALY_MODEL` is given. */
export const DEFAULT_MODEL = resolve(REPO_ROOT, "models/default.model.json");

/** Log levels pino accepts. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** The server's settings after flags, environment and defaults are merged. */
export interface ServerConfig {
  /** Address to listen on; default 127.0.0.1. */
  host: string;
  /** TCP port, 0 to 65535 (0 picks a free one); default 50051. */
  port: number;
  /** Absolute path of the model file. */
  model: string;
  /** pino level; default info. */
  logLevel: (typeof LOG_LEVELS)[number];
  /** Verdict threshold in (0, 1] overriding the model's, or undefined. */
  threshold: number | undefined;
  /** Authentication, TLS and limits; see `auth-config.ts`. */
  security: SecurityConfig;
  /**
   * Seconds between `runtime stats` log lines (RSS, event-loop delay), in
   * (0, 3600], for soak runs; undefined (the default) logs none.
   */
  statsIntervalS?: number | undefined;
  /** Serve plain gRPC Score/StreamScore without Connect (`grpc-fast-path.ts`); `--no-fast-path` turns it off. */
  fastPath: boolean;
  /**
   * Server processes sharing the port (`--workers N`, or `auto`: one per
   * CPU the process may use, cgroup quota included), 1 to {@link MAX_WORKERS}; default 1, a single process. More than
   * one runs a supervisor that forks them (`workers.ts`).
   */
  workers: number;
  /**
   * Where the dashboard listens (`--dashboard [HOST:]PORT`, host default
   * 127.0.0.1), or undefined (the default): no dashboard.
   */
  dashboard?: { host: string; port: number } | undefined;
  /** Metrics endpoint, alert outputs, de-duplication, suppressions; see `operations-config.ts`. */
  operations: OperationsConfig;
  /** Largest model file read, bytes, 1 KiB to 4 GiB; default 64 MiB. */
  maxModelBytes: number;
  /** Most `anomalous event` log lines per second, 0 (no limit) to 1e6; default 100. */
  anomalyLogRate: number;
  /** `--learn` and its settings; undefined (the default) learns nothing. */
  learn: LearnConfig | undefined;
}

/** Largest `--workers`. */
export const MAX_WORKERS = 64;

/**
 * Merges flags, then `NETANOMALY_HOST`/`PORT`/`MODEL`/`LOG_LEVEL`, then
 * defaults: flags win. Relative model paths are taken from the cwd.
 *
 * @throws UsageError naming the bad flag and value.
 */
export function parseConfig(args: readonly string[], env: NodeJS.ProcessEnv): ServerConfig {
  const values = parseFlags(args, {
    host: { type: "string" },
    port: { type: "string" },
    model: { type: "string" },
    "log-level": { type: "string" },
    threshold: { type: "string" },
    "stats-interval": { type: "string" },
    "no-fast-path": { type: "boolean" },
    workers: { type: "string" },
    dashboard: { type: "string" },
    "max-model-bytes": { type: "string" },
    "anomaly-log-rate": { type: "string" },
    ...SECURITY_FLAGS,
    ...OPERATIONS_FLAGS,
    ...LEARN_FLAGS,
  });
  const pick = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    return typeof v === "string" ? v : env[envName] || undefined;
  };
  const host = pick("host", "NETANOMALY_HOST") ?? "127.0.0.1";
  const portText = pick("port", "NETANOMALY_PORT") ?? "50051";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(
      `--port must be an integer in [0, 65535], got ${JSON.stringify(portText)}`,
    );
  }
  const modelText = pick("model", "NETANOMALY_MODEL");
  const model = modelText === undefined ? DEFAULT_MODEL : resolve(modelText);
  const level = pick("log-level", "NETANOMALY_LOG_LEVEL") ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(
      `--log-level must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(level)}`,
    );
  }
  let threshold: number | undefined;
  if (typeof values.threshold === "string") {
    threshold = Number(values.threshold);
    if (values.threshold.trim() === "" || !(threshold > 0 && threshold <= 1)) {
      throw new UsageError(
        `--threshold must be in (0, 1], got ${JSON.stringify(values.threshold)}`,
      );
    }
  }
  const statsText = pick("stats-interval", "NETANOMALY_STATS_INTERVAL");
  let statsIntervalS: number | undefined;
  if (statsText !== undefined) {
    statsIntervalS = Number(statsText);
    if (statsText.trim() === "" || !(statsIntervalS > 0 && statsIntervalS <= 3600)) {
      throw new UsageError(
        `--stats-interval must be seconds in (0, 3600], got ${JSON.stringify(statsText)}`,
      );
    }
  }
  const dashboardText = pick("dashboard", "NETANOMALY_DASHBOARD");
  const dashboard = dashboardText === undefined ? undefined : parseDashboard(dashboardText);
  const workers = parseWorkers(pick("workers", "NETANOMALY_WORKERS") ?? "1");
  if (dashboard !== undefined && workers > 1) {
    // Each worker would keep its own anomalies and stats: the page would show one worker's share.
    throw new UsageError("--dashboard needs a single server process; drop --workers");
  }
  const maxModelText = pick("max-model-bytes", "NETANOMALY_MAX_MODEL_BYTES");
  const maxModelBytes = maxModelText === undefined ? DEFAULT_MAX_MODEL_BYTES : Number(maxModelText);
  if (!/^\d+$/.test(maxModelText ?? "0") || maxModelBytes < 1024 || maxModelBytes > 2 ** 32) {
    throw new UsageError(
      `--max-model-bytes must be an integer in [1024, 4294967296], got ${JSON.stringify(maxModelText)}`,
    );
  }
  const rateText = pick("anomaly-log-rate", "NETANOMALY_ANOMALY_LOG_RATE");
  const anomalyLogRate =
    rateText === undefined ? DEFAULT_ANOMALY_LINES_PER_SECOND : Number(rateText);
  if (
    rateText !== undefined &&
    (rateText.trim() === "" || !(anomalyLogRate >= 0 && anomalyLogRate <= 1e6))
  ) {
    throw new UsageError(
      `--anomaly-log-rate must be lines per second in [0, 1000000], got ${JSON.stringify(rateText)}`,
    );
  }
  const security = parseSecurityConfig(values, env, (m) => new UsageError(m));
  return {
    host,
    port,
    model,
    logLevel: level as ServerConfig["logLevel"],
    threshold,
    security,
    ...(statsIntervalS !== undefined ? { statsIntervalS } : {}),
    fastPath: values["no-fast-path"] !== true,
    workers,
    ...(dashboard !== undefined ? { dashboard } : {}),
    operations: parseOperationsConfig(values, env, (m) => new UsageError(m)),
    maxModelBytes,
    anomalyLogRate,
    learn: parseLearnConfig(values, model),
  };
}

/** `PORT`, `HOST:PORT` or `[IPv6]:PORT`; the host defaults to loopback. */
function parseDashboard(text: string): { host: string; port: number } {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) {
    throw new UsageError(
      `--dashboard must be PORT or HOST:PORT with a port in [0, 65535], got ${JSON.stringify(text)}`,
    );
  }
  const host = match[1]?.replace(/^\[(.*)\]$/, "$1") ?? "127.0.0.1";
  return { host, port };
}

function parseWorkers(text: string): number {
  if (text === "auto") {
    return Math.min(availableCpus(), MAX_WORKERS);
  }
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_WORKERS) {
    throw new UsageError(
      `--workers must be an integer in [1, ${MAX_WORKERS}] or auto, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}
