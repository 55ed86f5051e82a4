import { parseFlags, UsageError } from "../cli/usage-error.js";
import { SOURCE_NAMES, SOURCES, sourceNamed } from "../sources/index.js";
import type { AgentOptions } from "./run-agent.js";

/** The agent's usage text. */
export const USAGE = `usage: npm run agent -- [options]

Where events come from (default: the simulator):
  --source NAME          ${SOURCE_NAMES.join(" | ")}
${SOURCES.map((s) => `                           ${s.name.padEnd(9)} ${s.description}`).join("\n")}
  --input FILE           file a file source reads (- for standard input)
  --follow               keep reading a growing file across rotation (tail -F)
  --listen HOST:PORT     address a flow source listens on (UDP)
  --interval S           poll interval of the host source, seconds
  --dns FILE             Zeek dns.log to join with conn.log
  --replay CSV           the same as --source csv --input CSV
  --count N              stop after N events
  --duration S           stop after S seconds
  --anomaly-rate F       simulator: share of injected attacks, [0, 1] (default 0.02)
  --seed N               simulator seed (default 1)

Where they go (default: the server at http://127.0.0.1:50051):
  --print                write each event as one JSON line on stdout (the proto's JSON
                         mapping); without --target nothing is sent to a server
  --target URL           server to stream to (env NETANOMALY_TARGET)
  --sink kafka --brokers HOST:PORT[,…] --topic TOPIC
                         publish to a Kafka topic instead (acks=all, key = source host,
                         value = the proto JSON mapping); score it with npm run consume
  --rate N               events/s; 0 = as fast as the server acknowledges (default 1000 for
                         the simulator, 0 for files and live sources)
  --batch N              events per request, [1, 1000]
  --window N             requests in flight, [1, 1024] (default 16)
  --max-retries N        give up after N failed reconnections in a row (default: never)
  --api-key K            sent as a bearer token (env NETANOMALY_API_KEY)
  --tls-ca PEM, --tls-cert PEM --tls-key PEM   for an https:// target
  --json                 the last stdout line is the summary as one JSON object

Each flagged event prints one line: its score against the model's threshold, the
process, destination and bytes, and its top features as name=value (+contribution):
value is the feature's value for this event (rarities are log((N+1)/(count+1)) over the
N training rows, so 0 = every training row had it, ~10 = never seen); contribution is
how many tree levels that feature's splits saved in isolating it (higher = more
anomalous).
`;

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
    source: { type: "string" },
    input: { type: "string" },
    follow: { type: "boolean" },
    listen: { type: "string" },
    interval: { type: "string" },
    dns: { type: "string" },
    print: { type: "boolean" },
    batch: { type: "string" },
    seed: { type: "string" },
    "api-key": { type: "string" },
    "tls-ca": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    window: { type: "string" },
    sink: { type: "string" },
    brokers: { type: "string" },
    topic: { type: "string" },
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
  parseSourceFlags(values, options);
  const interval = num("interval", (n) => n > 0 && n <= 3600, "a number of seconds in (0, 3600]");
  if (interval !== undefined) {
    options.sourceOptions = { ...options.sourceOptions, intervalS: interval };
  }
  if (values.print === true) {
    options.print = true;
    // --print on its own is a dry run: nothing goes to a server unless one is named.
    if (typeof values.target !== "string" && !env.NETANOMALY_TARGET) options.send = false;
  }
  parseSinkFlags(values, options);
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

/** --sink kafka with --brokers and --topic. */
function parseSinkFlags(values: Record<string, unknown>, options: AgentOptions): void {
  const sink = values.sink;
  const brokers = values.brokers;
  const topic = values.topic;
  if (sink === undefined || sink === "grpc") {
    if (brokers !== undefined || topic !== undefined)
      throw new UsageError("--brokers and --topic need --sink kafka");
    return;
  }
  if (sink !== "kafka")
    throw new UsageError(`--sink must be one of grpc|kafka, got ${String(sink)}`);
  if (typeof brokers !== "string")
    throw new UsageError("--sink kafka needs --brokers HOST:PORT[,…]");
  if (typeof topic !== "string" || !/^[a-zA-Z0-9._-]{1,249}$/.test(topic))
    throw new UsageError(
      `--sink kafka needs --topic NAME ([a-zA-Z0-9._-]), got ${JSON.stringify(topic)}`,
    );
  if (typeof values.target === "string")
    throw new UsageError("--target and --sink kafka are mutually exclusive");
  const list = brokers.split(",").map((b) => b.trim());
  for (const b of list) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):\d{1,5}$/.test(b))
      throw new UsageError(`--brokers entries must be HOST:PORT, got ${JSON.stringify(b)}`);
  }
  options.kafka = { brokers: list, topic };
  options.send = true;
}

/** --source, --replay and the source options; checks what can be checked before starting. */
function parseSourceFlags(values: Record<string, unknown>, options: AgentOptions): void {
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  let name = str("source");
  let input = str("input");
  const replay = str("replay");
  if (replay !== undefined) {
    if (name !== undefined && name !== "csv")
      throw new UsageError(`--replay reads a CSV; it cannot be combined with --source ${name}`);
    if (input !== undefined) throw new UsageError("--replay and --input are mutually exclusive");
    name = "csv";
    input = replay;
  }
  if (name === undefined) {
    if (input !== undefined)
      throw new UsageError(`--input needs --source (a file source: one of ${fileSourceList()})`);
    return;
  }
  const source = sourceNamed(name);
  if (source === undefined)
    throw new UsageError(`--source must be one of ${SOURCE_NAMES.join("|")}, got ${name}`);
  options.source = name;
  const so: NonNullable<AgentOptions["sourceOptions"]> = {};
  options.sourceOptions = so;
  if (source.kind === "file") {
    if (input === undefined)
      throw new UsageError(`--source ${name} reads a file: give --input FILE (or - for stdin)`);
    so.input = input;
  } else if (input !== undefined) {
    throw new UsageError(`--source ${name} reads no file; --input applies to ${fileSourceList()}`);
  }
  if (values.follow === true) {
    if (source.kind !== "file" || input === "-")
      throw new UsageError("--follow applies to a file source reading a file");
    so.follow = true;
  }
  const listen = str("listen");
  if (listen !== undefined) {
    if (
      !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(listen) ||
      Number(listen.split(":").pop()) > 65535
    )
      throw new UsageError(`--listen must be HOST:PORT, got ${JSON.stringify(listen)}`);
    so.listen = listen;
  }
  const dns = str("dns");
  if (dns !== undefined) so.dns = dns;
}

function fileSourceList(): string {
  return SOURCES.filter((s) => s.kind === "file")
    .map((s) => s.name)
    .join("|");
}
