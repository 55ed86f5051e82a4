import { parseFlags, UsageError } from "../cli/usage-error.js";
import type { AgentOptions } from "./run-agent.js";

/** The agent's usage text. */
export const USAGE =
  "usage: npm run agent -- [--target <url>] [--rate <events/s>] [--count N | --duration S] " +
  "[--anomaly-rate F] [--replay <csv>] [--batch N] [--seed N] [--api-key K] " +
  "[--tls-ca PEM] [--tls-cert PEM --tls-key PEM] [--window N] [--max-retries N] [--json]  " +
  "(env NETANOMALY_TARGET = --target, NETANOMALY_API_KEY = --api-key)";

/** Parsed command line: `runAgent` options plus output mode. */
export interface AgentArgs {
  options: AgentOptions;
  json: boolean;
  help: boolean;
}

/**
 * Parses the agent's flags; `NETANOMALY_API_KEY` in `env` stands in for
 * `--api-key` (the flag wins), so the key need not show in `ps`.
 *
 * @throws UsageError naming the bad flag or value.
 */
export function parseAgentArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): AgentArgs {
  const values = parseFlags(argv, {
    target: { type: "string" },
    rate: { type: "string" },
    count: { type: "string" },
    duration: { type: "string" },
    "anomaly-rate": { type: "string" },
    replay: { type: "string" },
    batch: { type: "string" },
    seed: { type: "string" },
    "api-key": { type: "string" },
    "tls-ca": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    window: { type: "string" },
    "max-retries": { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const num = (flag: string, ok: (n: number) => boolean, rule: string): number | undefined => {
    const text = values[flag];
    if (typeof text !== "string") return undefined;
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n) || !ok(n)) {
      throw new UsageError(`--${flag} must be ${rule}, got ${JSON.stringify(text)}`);
    }
    return n;
  };
  const options: AgentOptions = {};
  const target =
    typeof values.target === "string" ? values.target : env.NETANOMALY_TARGET || undefined;
  if (typeof target === "string") {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new UsageError(`--target must be an http(s) URL, got ${JSON.stringify(target)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new UsageError(`--target must be an http(s) URL, got ${JSON.stringify(target)}`);
    }
    options.target = target;
  }
  const rate = num("rate", (n) => n >= 0, "a number >= 0");
  if (rate !== undefined) options.rate = rate;
  const count = num("count", (n) => Number.isInteger(n) && n >= 0, "a non-negative integer");
  const duration = num("duration", (n) => n > 0, "a number of seconds > 0");
  if (count !== undefined && duration !== undefined) {
    throw new UsageError("--count and --duration are mutually exclusive");
  }
  if (count !== undefined) options.count = count;
  if (duration !== undefined) options.durationS = duration;
  const anomalyRate = num("anomaly-rate", (n) => n >= 0 && n <= 1, "in [0, 1]");
  if (anomalyRate !== undefined) options.anomalyRate = anomalyRate;
  const batch = num(
    "batch",
    (n) => Number.isInteger(n) && n >= 1 && n <= 1000,
    "an integer in [1, 1000]",
  );
  if (batch !== undefined) options.batch = batch;
  const window = num(
    "window",
    (n) => Number.isInteger(n) && n >= 1 && n <= 1024,
    "an integer in [1, 1024]",
  );
  if (window !== undefined) options.window = window;
  // An agent outlives its server's restarts: by default it retries forever
  // (backoff capped at 5 s); --max-retries bounds consecutive failures.
  const maxRetries = num(
    "max-retries",
    (n) => Number.isInteger(n) && n >= 0,
    "a non-negative integer",
  );
  if (maxRetries !== undefined) options.maxAttempts = maxRetries;
  const seed = num("seed", (n) => Number.isInteger(n), "an integer");
  if (seed !== undefined) options.seed = seed;
  if (typeof values.replay === "string") options.replay = values.replay;
  const apiKey =
    typeof values["api-key"] === "string" ? values["api-key"] : env.NETANOMALY_API_KEY || undefined;
  if (apiKey !== undefined) options.apiKey = apiKey;
  const tlsCert = values["tls-cert"];
  const tlsKey = values["tls-key"];
  if ((typeof tlsCert === "string") !== (typeof tlsKey === "string")) {
    throw new UsageError("--tls-cert and --tls-key must be given together");
  }
  const tls = { ca: values["tls-ca"], cert: tlsCert, key: tlsKey };
  if (typeof tls.ca === "string" || typeof tls.cert === "string") {
    if (options.target === undefined || !options.target.startsWith("https:")) {
      throw new UsageError("--tls-ca, --tls-cert and --tls-key need an https:// --target");
    }
    options.tls = {
      ...(typeof tls.ca === "string" ? { ca: tls.ca } : {}),
      ...(typeof tls.cert === "string" && typeof tls.key === "string"
        ? { cert: tls.cert, key: tls.key }
        : {}),
    };
  }
  return { options, json: values.json === true, help: values.help === true };
}
