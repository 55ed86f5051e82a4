import { fromBinary } from "@bufbuild/protobuf";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import {
  type ColumnIndex,
  CsvRowError,
  columnIndex,
  eventFromCells,
  eventFromRecord,
  missingColumns,
  parseTimestamp,
} from "../telemetry/event-csv.js";
import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { simEvent } from "../telemetry/sim-event.js";
import { type CsvCells, type CsvItem, plainCsvBatches, recordOf } from "./csv-plain-rows.js";
import { type CsvRow, type CsvRowsOptions, readCsvRows } from "./csv-rows.js";
import { RowEncoder } from "./csv-wire.js";
import { labelOf } from "./jsonl.js";
import type { Source, SourceContext, SourceEvent } from "./source.js";

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
    const encoder = options.encoded === true ? new RowEncoder() : undefined;
    return { [Symbol.asyncIterator]: () => csvEvents(input, ctx, encoder) };
  },
};

/**
 * The events of `input`, one row at a time. A plain iterator over the
 * reader's batches rather than an async generator over its rows: a replay
 * takes hundreds of thousands of rows a second, and each generator step
 * costs promises and a queue entry. Same events, skips and order as
 * iterating the rows one by one.
 */
function csvEvents(
  input: string,
  ctx: SourceContext,
  encoder: RowEncoder | undefined,
): AsyncIterator<SourceEvent> {
  let columns: HeaderColumns | undefined;
  /** With an encoder, a plain line in the common form as its encoding alone. */
  const encodeLine =
    encoder === undefined
      ? undefined
      : (line: string, cells: number): EncodedEvent | undefined => {
          const c = columns as HeaderColumns;
          const encoded = encoder.encodeLine(line, cells, c.at);
          if (encoded === undefined) return undefined;
          return new EncodedEvent(
            encoded,
            labelOf(encoder.cell(c.scenario), encoder.cell(c.label)),
          );
        };
  const rowOptions: CsvRowsOptions = {
    onHeader(header) {
      const missing = missingColumns(header);
      if (missing.length > 0)
        throw new Error(`${input}: header lacks column(s) ${missing.join(", ")}`);
      columns = {
        header,
        at: columnIndex(header),
        label: header.indexOf("label"),
        scenario: header.indexOf("scenario"),
      };
    },
    onSkip: ({ line, message }) => ctx.onSkip({ where: `${input}:${line}`, message }),
  };
  const end: IteratorResult<SourceEvent> = { value: undefined, done: true };
  let batches: AsyncIterator<CsvItem<EncodedEvent>[]> | undefined;
  let batch: CsvItem<EncodedEvent>[] = [];
  let at = 0;
  let finished = false;

  /** The next event of the current batch, reporting skipped rows; undefined when it is used up. */
  const take = (): SourceEvent | undefined => {
    while (at < batch.length) {
      const item = batch[at++] as CsvItem<EncodedEvent>;
      if ("taken" in item) return item.taken;
      if ("skip" in item) {
        rowOptions.onSkip(item.skip);
        continue;
      }
      const event =
        "cells" in item
          ? cellsEvent(item, columns as HeaderColumns, input, ctx)
          : rowEvent(item, input, ctx);
      if (event !== undefined) return event;
    }
    return undefined;
  };

  /** Stops the reader (closing the file) once, whatever happened. */
  const stop = async (): Promise<void> => {
    finished = true;
    const it = batches;
    batches = undefined;
    await it?.return?.();
  };

  const pull = async (): Promise<IteratorResult<SourceEvent>> => {
    try {
      for (;;) {
        if (ctx.signal.aborted) {
          await stop();
          return end;
        }
        const event = take();
        if (event !== undefined) return { value: event, done: false };
        if (batches === undefined) {
          // Plain lines are split at commas: same rows, a fraction of the CPU.
          batches =
            (await plainCsvBatches(input, rowOptions, encodeLine)) ??
            oneByOne(readCsvRows(input, rowOptions));
        }
        const next = await batches.next();
        if (next.done) {
          finished = true;
          batches = undefined;
          return end;
        }
        batch = next.value;
        at = 0;
      }
    } catch (err) {
      await stop().catch(() => {});
      throw err;
    }
  };

  return {
    next: () => {
      if (finished) return Promise.resolve(end);
      // The common case, a row already read: no async function, one promise.
      if (!ctx.signal.aborted && at < batch.length) {
        try {
          const event = take();
          if (event !== undefined) return Promise.resolve({ value: event, done: false });
        } catch (err) {
          return stop().then(
            () => Promise.reject(err),
            () => Promise.reject(err),
          );
        }
      }
      return pull();
    },
    return: async () => {
      await stop();
      return end;
    },
  };
}

/** Rows as one-row batches (csv-parse's reader reports its skips itself). */
async function* oneByOne(rows: AsyncIterable<CsvRow>): AsyncGenerator<CsvItem[]> {
  for await (const row of rows) yield [row];
}

/** The header of a file the plain reader splits, and where our columns are in it. */
interface HeaderColumns {
  header: readonly string[];
  at: ColumnIndex;
  /** Index of the `label` column, -1 when there is none; the same for `scenario`. */
  label: number;
  scenario: number;
}

/**
 * An event given as its encoding (`RowEncoder`): `event` is decoded from
 * the bytes when it is first read.
 */
class EncodedEvent implements SourceEvent {
  private decoded: NetworkEvent | undefined;
  constructor(
    readonly encoded: Uint8Array,
    readonly label: string | undefined,
  ) {}

  get event(): NetworkEvent {
    if (this.decoded === undefined) this.decoded = fromBinary(NetworkEventSchema, this.encoded);
    return this.decoded;
  }
}

/**
 * {@link rowEvent} for a row as cells: the same event, label and skip as
 * the row's record gives, without making the record (unless the row is bad).
 */
function cellsEvent(
  { cells, line }: CsvCells,
  columns: HeaderColumns,
  input: string,
  ctx: SourceContext,
): SourceEvent | undefined {
  let event: NetworkEvent;
  try {
    event = eventFromCells(cells, columns.at);
  } catch (err) {
    if (!(err instanceof CsvRowError)) throw err;
    return rowEvent({ record: recordOf(cells, columns.header), line }, input, ctx);
  }
  return { event, label: labelOfCells(cells, columns) };
}

/** `labelOf` the row's `scenario` and `label` cells, as of its record's. */
function labelOfCells(cells: readonly string[], columns: HeaderColumns): string | undefined {
  const scenario = columns.scenario < 0 ? undefined : cells[columns.scenario];
  const label = columns.label < 0 ? undefined : cells[columns.label];
  return labelOf(scenario, label);
}

/**
 * The event of one row, or undefined when it cannot be encoded (reported
 * through `onSkip`).
 */
function rowEvent(
  { record, line }: CsvRow,
  input: string,
  ctx: SourceContext,
): SourceEvent | undefined {
  let event: NetworkEvent;
  try {
    event = eventFromRecord(record);
  } catch (err) {
    if (!(err instanceof CsvRowError)) throw err;
    const lenient = encodableEvent(record);
    if (typeof lenient === "string") {
      ctx.onSkip({ where: `${input}:${line}`, message: lenient });
      return undefined;
    }
    event = lenient;
  }
  return { event, label: labelOf(record.scenario, record.label) };
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
