import { createReadStream } from "node:fs";
import { parse } from "csv-parse";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import {
  CsvRowError,
  eventFromRecord,
  missingColumns,
  parseTimestamp,
} from "../telemetry/event-csv.js";
import { simEvent } from "../telemetry/sim-event.js";
import { createSimulator, type SimulatorOptions } from "../telemetry/simulator.js";

/**
 * One event for the agent to send, with its ground truth when known:
 * `"normal"`, an attack scenario name (`"attack"` when a replayed CSV only
 * says `label=1`), or `undefined` for unlabelled telemetry.
 */
export interface SourceEvent {
  event: NetworkEvent;
  label: string | undefined;
}

/** A CSV row the replay skipped, by 1-based line number. */
export interface SkippedRow {
  line: number;
  message: string;
}

/**
 * The seeded simulator as an endless source of labelled events.
 *
 * @see createSimulator for the options.
 */
export function simulatorSource(options: SimulatorOptions): Iterable<SourceEvent> {
  const sim = createSimulator(options);
  return {
    *[Symbol.iterator]() {
      for (;;) yield sim.next();
    },
  };
}

const UINT32_MAX = 4_294_967_295n;
const UINT64_MAX = 18_446_744_073_709_551_615n;

/**
 * Replays a telemetry CSV (header with the 13 telemetry columns in any order,
 * optional `label` and `scenario` columns), streaming the file.
 *
 * Rows are handled in two tiers:
 * - a row that cannot be encoded as a `NetworkEvent` (wrong number of
 *   cells, broken quoting, a non-numeric port or byte count, a number past
 *   the wire type, an unreadable timestamp) is reported through `onSkip`
 *   with its line number and skipped;
 * - a row that encodes but breaks a contract rule (port above 65535, an
 *   address that doesn't parse, an over-long string, bytes past 2^53) is
 *   sent as it is: the server is the one place those rules are enforced,
 *   and its per-event error counts under the agent's `errors`.
 *
 * @throws Error before the first event when the header lacks a telemetry column.
 */
export async function* csvReplaySource(
  path: string,
  onSkip: (row: SkippedRow) => void,
): AsyncGenerator<SourceEvent> {
  const parser = createReadStream(path).pipe(
    parse({ columns: true, info: true, skip_records_with_error: true, bom: true, trim: true }),
  );
  parser.on("skip", (err: Error & { lines?: number }) => {
    onSkip({ line: err.lines ?? 0, message: err.message });
  });
  let checked = false;
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    if (!checked) {
      const missing = missingColumns(Object.keys(record));
      if (missing.length > 0) {
        parser.destroy();
        throw new Error(`${path}: header lacks column(s) ${missing.join(", ")}`);
      }
      checked = true;
    }
    let event: NetworkEvent;
    try {
      event = eventFromRecord(record);
    } catch (err) {
      if (!(err instanceof CsvRowError)) throw err;
      const lenient = encodableEvent(record);
      if (typeof lenient === "string") {
        onSkip({ line: info.lines, message: lenient });
        continue;
      }
      event = lenient;
    }
    yield { event, label: labelOf(record) };
  }
}

function labelOf(record: Record<string, string>): string | undefined {
  const scenario = record.scenario;
  if (scenario !== undefined && scenario !== "") return scenario;
  const label = record.label;
  if (label === undefined || label === "") return undefined;
  return label === "0" || label.toLowerCase() === "normal" ? "normal" : "attack";
}

/**
 * Builds the event a row encodes without checking contract rules.
 *
 * @returns the event, or a message when a cell can't be encoded at all.
 */
function encodableEvent(record: Record<string, string>): NetworkEvent | string {
  let timeMs: number | undefined;
  try {
    timeMs = parseTimestamp(record.timestamp ?? "");
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const counts: bigint[] = [];
  for (const [column, max] of [
    ["dest_port", UINT32_MAX],
    ["bytes_sent", UINT64_MAX],
    ["bytes_recv", UINT64_MAX],
  ] as const) {
    const text = (record[column] ?? "").trim();
    if (text !== "" && !/^\d+$/.test(text))
      return `${column} ${JSON.stringify(text.slice(0, 64))} is not a non-negative integer`;
    const n = text === "" ? 0n : BigInt(text);
    if (n > max) return `${column} ${text} does not fit the wire type`;
    counts.push(n);
  }
  const event = simEvent({
    timeMs: timeMs ?? 0,
    processPath: record.process_path ?? "",
    processHash: record.process_hash ?? "",
    sourceIp: record.source_ip ?? "",
    destIp: record.dest_ip ?? "",
    destDomain: record.dest_domain ?? "",
    destPort: Number(counts[0]),
    bytesSent: 0,
    bytesRecv: 0,
    protocol: record.protocol ?? "",
    dnsQuery: record.dns_query ?? "",
    parentProcess: record.parent_process ?? "",
    userContext: record.user_context ?? "",
  });
  event.bytesSent = counts[1] as bigint;
  event.bytesRecv = counts[2] as bigint;
  if (timeMs === undefined) event.timestamp = undefined;
  return event;
}
