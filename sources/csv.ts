import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import {
  CsvRowError,
  eventFromRecord,
  missingColumns,
  parseTimestamp,
} from "../telemetry/event-csv.js";
import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { simEvent } from "../telemetry/sim-event.js";
import { plainCsvRows } from "./csv-plain-rows.js";
import { type CsvRowsOptions, readCsvRows } from "./csv-rows.js";
import { labelOf } from "./jsonl.js";
import type { Source, SourceEvent } from "./source.js";

const UINT32_MAX = 4_294_967_295n;
const UINT64_MAX = 18_446_744_073_709_551_615n;

/**
 * Our telemetry CSV (a header with the 13 telemetry columns in any order,
 * optional `label` and `scenario` columns), streamed with the trainer's own
 * reader, so line numbers agree everywhere.
 *
 * Rows are handled in two tiers:
 * - a row that cannot be encoded as a `NetworkEvent` (wrong number of
 *   cells, broken quoting, a non-numeric port or byte count, a number past
 *   the wire type, an unreadable timestamp) is reported through `onSkip`
 *   with its line number and skipped;
 * - a row that encodes but breaks a contract rule (port above 65535, an
 *   address that doesn't parse, an over-long string, bytes past 2^53) is
 *   passed on as it is: the server is the one place those rules are
 *   enforced (the trainer, which validates, uses `eventFromRecord`).
 */
export const csvSource: Source = {
  name: "csv",
  description: "netanomaly's telemetry CSV, the prototype's schema (--input FILE)",
  kind: "file",
  fields: TELEMETRY_COLUMNS,
  open(options, ctx) {
    const input = options.input;
    if (input === undefined) throw new Error("--source csv needs --input FILE");
    return {
      async *[Symbol.asyncIterator](): AsyncGenerator<SourceEvent> {
        const rowOptions: CsvRowsOptions = {
          onHeader(header) {
            const missing = missingColumns(header);
            if (missing.length > 0)
              throw new Error(`${input}: header lacks column(s) ${missing.join(", ")}`);
          },
          onSkip: ({ line, message }) => ctx.onSkip({ where: `${input}:${line}`, message }),
        };
        // Plain lines are split at commas: same rows, a fraction of the CPU.
        const rows = (await plainCsvRows(input, rowOptions)) ?? readCsvRows(input, rowOptions);
        for await (const { record, line } of rows) {
          if (ctx.signal.aborted) return;
          let event: NetworkEvent;
          try {
            event = eventFromRecord(record);
          } catch (err) {
            if (!(err instanceof CsvRowError)) throw err;
            const lenient = encodableEvent(record);
            if (typeof lenient === "string") {
              ctx.onSkip({ where: `${input}:${line}`, message: lenient });
              continue;
            }
            event = lenient;
          }
          yield { event, label: labelOf(record.scenario, record.label) };
        }
      },
    };
  },
};

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
