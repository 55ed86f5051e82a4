import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type EventResult,
  EventResultSchema,
  type EventScore,
} from "../gen/netanomaly/v1/scoring_service_pb.js";

// Wire tags (field number << 3 | wire type) of the fields the fast path reads.
/** `EventResult.score`, length-delimited. */
const TAG_RESULT_SCORE = 0x0a;
/** `EventScore.score`, a little-endian double. */
const TAG_SCORE_SCORE = 0x09;
/** `EventScore.verdict`, a varint. */
const TAG_SCORE_VERDICT = 0x10;

/** Eight bytes to read a double through, reused. */
const scratch = new DataView(new ArrayBuffer(8));

/**
 * Decodes one `netanomaly.v1.EventResult` from its wire bytes into the same
 * plain object `fromBinary(EventResultSchema, bytes)` returns (field for
 * field, `-0` and NaN payloads included), without protobuf-es's reflection.
 *
 * The fast path reads what a scoring server sends for an event it scored:
 * a score with its double and its verdict (each at most once, or repeated:
 * the last one wins, as protobuf says), no contributions and no unknown
 * fields. Anything else — an error outcome, contributions, an unknown or
 * repeated field, a multi-byte verdict or length — goes through
 * `fromBinary`, so the answer never differs; bytes `fromBinary` rejects
 * throw the `internal` error Connect's own parser throws ("parse binary: …").
 *
 * @param bytes - one `EventResult`, as it sits inside a `StreamScoreResponse`.
 * @returns the decoded result; a fresh object each call.
 */
export function decodeEventResult(bytes: Uint8Array): EventResult {
  const n = bytes.length;
  // One score field with a one-byte length that covers the rest.
  if (n >= 2 && bytes[0] === TAG_RESULT_SCORE && bytes[1] === n - 2) {
    let score = 0;
    let verdict = 0;
    let pos = 2;
    let ok = true;
    while (pos < n) {
      const tag = bytes[pos];
      if (tag === TAG_SCORE_SCORE && pos + 9 <= n) {
        for (let i = 0; i < 8; i++) scratch.setUint8(i, bytes[pos + 1 + i] as number);
        score = scratch.getFloat64(0, true);
        pos += 9;
      } else if (tag === TAG_SCORE_VERDICT && pos + 2 <= n && (bytes[pos + 1] as number) < 0x80) {
        verdict = bytes[pos + 1] as number;
        pos += 2;
      } else {
        ok = false;
        break;
      }
    }
    if (ok) {
      const value: EventScore = {
        $typeName: "netanomaly.v1.EventScore",
        score,
        verdict,
        contributions: [],
      };
      return { $typeName: "netanomaly.v1.EventResult", outcome: { case: "score", value } };
    }
  }
  try {
    return fromBinary(EventResultSchema, bytes);
  } catch (e) {
    // The words and code Connect's binary parser uses for a response it cannot read.
    const m = e instanceof Error ? e.message : String(e);
    throw new ConnectError(`parse binary: ${m}`, Code.Internal);
  }
}
