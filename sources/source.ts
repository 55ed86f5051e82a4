import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import type { TelemetryColumn } from "../telemetry/schema.js";

/**
 * One event from a source, with its ground truth when known: `"normal"`, an
 * attack scenario name (`"attack"` when a file only says `label=1`), or
 * `undefined` for unlabelled telemetry.
 */
export interface SourceEvent {
  event: NetworkEvent;
  label: string | undefined;
  /**
   * The record's id in its log, which a labels file names (`labels.ts`):
   * Zeek's `uid`, Suricata's `flow_id`, Sysmon's `ProcessGuid`, osquery's
   * `hostIdentifier:pid`. Undefined for sources without one.
   */
  key?: string;
  /**
   * The event's protobuf encoding, the bytes `toBinary(NetworkEventSchema,
   * event)` gives, when the source wrote them straight from its input
   * (only when opened with `encoded: true`). A sender sends these instead of
   * encoding `event`, which is then made only if it is read.
   */
  encoded?: Uint8Array;
}

/**
 * Something a source could not use and skipped: a line, record, packet or
 * `/proc` entry. `where` names the place the way a person finds it again
 * (`conn.log:57`, `exporter 10.0.0.1:2055 domain 0`, `/proc/4711/fd`).
 */
export interface SourceProblem {
  where: string;
  message: string;
}

/** What every source is opened with, the same for agent, trainer and evaluator. */
export interface SourceContext {
  /** Aborting ends the source: a live one stops listening or polling and the iterator returns. */
  signal: AbortSignal;
  /** A skipped unit of input; the caller counts and reports it. Never throws. */
  onSkip(problem: SourceProblem): void;
  /**
   * A condition worth saying once (not per event): running without root so
   * processes cannot be attributed, no IPv6 on the host, a join partner that
   * never arrived. The source says each kind once.
   */
  onNotice(message: string): void;
}

/**
 * Options a source may take; each source reads the ones it needs and
 * ignores the rest. The names are the command-line flags, the same in the
 * agent (`--input`), the trainer and the evaluator (`--data` sets `input`).
 */
export interface SourceOptions {
  /** File to read; `-` for standard input. */
  input?: string;
  /** Keep reading a growing file across rotation, as `tail -F` does. */
  follow?: boolean;
  /** `HOST:PORT` a network source listens on (flow collectors). */
  listen?: string;
  /** Poll or report interval of a live source, seconds. */
  intervalS?: number;
  /** A second file a format joins with (Zeek's dns.log). */
  dns?: string;
  /** Seed of generated traffic. */
  seed?: number;
  /** Share of generated events that are attacks, in [0, 1]. */
  anomalyRate?: number;
  /** Generated clock start, ms since the epoch. */
  startMs?: number;
  /**
   * Not a flag: the caller sends events as protobuf (the agent), so a
   * source that can encode them straight from its input (the CSV replay)
   * should give `SourceEvent.encoded`. Others ignore it.
   */
  encoded?: boolean;
}

/**
 * A kind of telemetry input: the simulator, a CSV, the host's own sockets,
 * flow exporters, a sensor's logs. One file in `sources/` per kind and one
 * line in `registry.ts`; the agent, trainer and evaluator open every kind
 * the same way and never branch on its name.
 */
export interface Source {
  /** The name on the command line: `--source NAME`, `--format NAME`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /**
   * `file` reads `input` (and may be trained and evaluated on); `live`
   * observes something as it happens (host sockets, a flow listener);
   * `generated` makes events up (the simulator).
   */
  readonly kind: "file" | "live" | "generated";
  /** Telemetry fields this source can fill; every other field stays empty. */
  readonly fields: readonly TelemetryColumn[];
  /**
   * Starts the source. Bad input is reported through `ctx.onSkip` and
   * skipped; the iterator throws only when nothing more can be read (the
   * file does not exist, the port cannot be bound), with one line that
   * names the file or address.
   */
  open(options: SourceOptions, ctx: SourceContext): AsyncIterable<SourceEvent>;
}
