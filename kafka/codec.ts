import { fromBinary, fromJson } from "@bufbuild/protobuf";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { validateEvent } from "../telemetry/index.js";

/** How input records carry their event. */
export type RecordFormat = "json" | "protobuf";

/** The record formats, for flags and usage text. */
export const RECORD_FORMATS: readonly RecordFormat[] = ["json", "protobuf"];

/** One input record decoded: its event, or why it cannot be scored and which field. */
export type DecodedRecord =
  | { ok: true; event: NetworkEvent }
  | { ok: false; field: string; reason: string };

/**
 * Decodes one record value into a `NetworkEvent` and checks it against the
 * telemetry rules (`validateEvent`). `json` is the proto's JSON mapping (what
 * the collectors' `--print` writes), `protobuf` the binary `NetworkEvent`.
 * Never throws: a problem comes back with the field it concerns (`""` when
 * the record as a whole is unreadable) and a one-line reason.
 */
export function decodeRecord(value: Buffer | undefined, format: RecordFormat): DecodedRecord {
  if (value === undefined || value.length === 0) {
    return { ok: false, field: "", reason: "empty record (no value)" };
  }
  let event: NetworkEvent;
  try {
    event =
      format === "json"
        ? fromJson(NetworkEventSchema, JSON.parse(value.toString("utf8")))
        : fromBinary(NetworkEventSchema, value);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return {
      ok: false,
      field: fieldOf(message),
      reason: `not a ${format} NetworkEvent: ${message}`,
    };
  }
  const violation = validateEvent(event);
  if (violation !== undefined) {
    return { ok: false, field: violation.field, reason: violation.message };
  }
  return { ok: true, event };
}

/** The field protobuf-es names in a decoding error ("…field netanomaly.v1.NetworkEvent.x…"). */
function fieldOf(message: string): string {
  const named = /NetworkEvent\.(\w+)/.exec(message);
  if (named !== null) return named[1] as string;
  const key = /key "(\w+)"/.exec(message);
  return key !== null ? (key[1] as string) : "";
}
