import { choiceFlag, intFlag, parseFlags, UsageError } from "../cli/usage-error.js";
import { RECORD_FORMATS, type RecordFormat } from "./codec.js";

/** The scorer's usage text. */
export const USAGE = `usage: npm run consume -- --brokers HOST:PORT[,…] --in TOPIC --out TOPIC [options]

Scores telemetry records from a Kafka topic as one member of a consumer group and
produces a verdict per record to another topic. Run N copies with the same --group to
spread the input's partitions over them; a copy that dies has its partitions taken over.

  --brokers LIST         bootstrap brokers, HOST:PORT[,HOST:PORT…] (env NETANOMALY_KAFKA_BROKERS)
  --in TOPIC             input topic: one NetworkEvent per record, keyed by source host
  --out TOPIC            verdict topic: the score response (score, verdict, threshold,
                         modelVersion, contributions) and input {topic, partition, offset},
                         as JSON, with the input's key
  --group ID             consumer group (default netanomaly-scorer)
  --format F             input records: json (the proto JSON mapping, what --print writes)
                         or protobuf (binary NetworkEvent) (default json)
  --dead-letter TOPIC    malformed or invalid records, unchanged, with the reason in the
                         netanomaly-error header (default: <in>.dead-letter)
  --alerts TOPIC         anomalous verdicts also go here (default: none)
  --model FILE           model file (env NETANOMALY_MODEL, default models/default.model.json);
                         reread on change and on SIGHUP
  --threshold T          verdict threshold in (0, 1] instead of the model's
  --batch N              most records per produce and commit, [1, 10000] (default 1000)
  --session-timeout MS   group session timeout, ms (default 10000)
  --stall-timeout MS     a fetch (with partitions assigned), a heartbeat, a send, a commit or a close not
                         answering in this long means the client is stuck: the scorer leaves, replaces it
                         and joins the group again (default 30000; a join may take twice the session timeout)
  --client-id ID         Kafka client id (default netanomaly-scorer-<pid>)

NETANOMALY_KAFKA_TRACE=1 logs (at debug) each step of a group session and, every 10 s,
its state: assigned partitions, fetch and heartbeat ages, queue, uncommitted partitions.

Delivery is at least once: offsets are committed only after the broker acknowledged
(acks=all) every verdict and dead letter of those records (docs/kafka.md).
Signals: SIGTERM/SIGINT finish the batch in hand and leave the group; SIGHUP rereads the model.
Exit codes: 0 after a signal, 1 model or broker problem, 2 bad flags.
`;

/** Parsed scorer flags. */
export interface ScorerArgs {
  brokers: string[];
  input: string;
  output: string;
  group: string;
  format: RecordFormat;
  deadLetter: string;
  alerts: string | undefined;
  model: string;
  threshold: number | undefined;
  batch: number;
  sessionTimeoutMs: number;
  stallTimeoutMs: number;
  clientId: string;
  help: boolean;
}

/**
 * Parses a broker list: `host:port` entries separated by commas.
 *
 * @throws UsageError naming the bad entry.
 */
export function parseBrokers(text: string, flag = "brokers"): string[] {
  const list = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0) throw new UsageError(`--${flag} needs at least one HOST:PORT`);
  for (const b of list) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(b);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw new UsageError(`--${flag} entries must be HOST:PORT, got ${JSON.stringify(b)}`);
  }
  return list;
}

/** Kafka's rule for topic names: 1–249 of [a-zA-Z0-9._-], not "." or "..". */
function topicFlag(flag: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(text) || text === "." || text === "..")
    throw new UsageError(
      `--${flag} must be a Kafka topic name ([a-zA-Z0-9._-], 1–249), got ${JSON.stringify(text)}`,
    );
  return text;
}

/**
 * Parses the scorer's flags; `NETANOMALY_KAFKA_BROKERS` and `NETANOMALY_MODEL`
 * in `env` stand in for `--brokers` and `--model` (the flags win).
 *
 * @throws UsageError naming the bad or missing flag.
 */
export function parseScorerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ScorerArgs {
  const v = parseFlags(argv, {
    brokers: { type: "string" },
    in: { type: "string" },
    out: { type: "string" },
    group: { type: "string" },
    format: { type: "string" },
    "dead-letter": { type: "string" },
    alerts: { type: "string" },
    model: { type: "string" },
    threshold: { type: "string" },
    batch: { type: "string" },
    "session-timeout": { type: "string" },
    "stall-timeout": { type: "string" },
    "client-id": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const help = v.help === true;
  const brokersText = str("brokers") ?? (env.NETANOMALY_KAFKA_BROKERS || undefined);
  const input = topicFlag("in", str("in"));
  const output = topicFlag("out", str("out"));
  if (!help) {
    if (brokersText === undefined)
      throw new UsageError("--brokers is required (or NETANOMALY_KAFKA_BROKERS)");
    if (input === undefined) throw new UsageError("--in is required");
    if (output === undefined) throw new UsageError("--out is required");
    if (input === output) throw new UsageError("--in and --out must be different topics");
  }
  let threshold: number | undefined;
  const t = str("threshold");
  if (t !== undefined) {
    threshold = Number(t);
    if (t.trim() === "" || !(threshold > 0 && threshold <= 1))
      throw new UsageError(`--threshold must be in (0, 1], got ${t}`);
  }
  return {
    brokers: brokersText === undefined ? [] : parseBrokers(brokersText),
    input: input ?? "",
    output: output ?? "",
    group: str("group") ?? "netanomaly-scorer",
    format: choiceFlag("format", str("format"), RECORD_FORMATS, "json"),
    deadLetter: topicFlag("dead-letter", str("dead-letter")) ?? `${input}.dead-letter`,
    alerts: topicFlag("alerts", str("alerts")),
    model: str("model") ?? (env.NETANOMALY_MODEL || "models/default.model.json"),
    threshold,
    batch: intFlag("batch", str("batch"), 1_000, 1, 10_000),
    sessionTimeoutMs: intFlag("session-timeout", str("session-timeout"), 10_000, 1_000, 300_000),
    stallTimeoutMs: intFlag("stall-timeout", str("stall-timeout"), 30_000, 1_000, 600_000),
    clientId: str("client-id") ?? `netanomaly-scorer-${process.pid}`,
    help,
  };
}
