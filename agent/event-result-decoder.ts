import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type EventResult,
  EventResultSchema,
  type EventScore,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { FeatureContribution } from "../gen/netanomaly/v1/telemetry_pb.js";

// Wire tags (field number << 3 | wire type) of the fields the fast path reads.
/** `EventResult.score`, length-delimited. */
const TAG_RESULT_SCORE = 0x0a;
/** `EventScore.score`, a little-endian double. */
const TAG_SCORE_SCORE = 0x09;
/** `EventScore.verdict`, a varint. */
const TAG_SCORE_VERDICT = 0x10;
/** `EventScore.contributions`, length-delimited. */
const TAG_SCORE_CONTRIBUTION = 0x1a;
/** `FeatureContribution.feature`, length-delimited. */
const TAG_FEATURE_NAME = 0x0a;
/** `FeatureContribution.contribution`, a little-endian double. */
const TAG_FEATURE_CONTRIBUTION = 0x11;
/** `FeatureContribution.value`, a little-endian double. */
const TAG_FEATURE_VALUE = 0x19;

/** Eight bytes to read a double through, reused. */
const scratch = new DataView(new ArrayBuffer(8));

/** Where the fast path reads next: module state, so reading a length makes no tuple. */
let cursor = 0;

/** The length prefix at `cursor` (one or two bytes), moving past it; -1 when it is longer or cut. */
function readLength(bytes: Uint8Array, end: number): number {
  if (cursor >= end) return -1;
  const b0 = bytes[cursor] as number;
  if (b0 < 0x80) {
    cursor += 1;
    return b0;
  }
  if (cursor + 1 >= end) return -1;
  const b1 = bytes[cursor + 1] as number;
  if (b1 >= 0x80) return -1;
  cursor += 2;
  return (b0 & 0x7f) | (b1 << 7);
}

/** The little-endian double at `pos` (eight bytes, known to be there). */
function readDouble(bytes: Uint8Array, pos: number): number {
  for (let i = 0; i < 8; i++) scratch.setUint8(i, bytes[pos + i] as number);
  return scratch.getFloat64(0, true);
}

/**
 * A `FeatureContribution` in `bytes[start, end)`, or undefined when it has
 * anything the fast path leaves to `fromBinary` (an unknown field, a long
 * or non-ASCII name, a cut field).
 */
function readContribution(
  bytes: Uint8Array,
  start: number,
  end: number,
): FeatureContribution | undefined {
  let feature = "";
  let contribution = 0;
  let value = 0;
  let pos = start;
  while (pos < end) {
    const tag = bytes[pos];
    if (tag === TAG_FEATURE_CONTRIBUTION && pos + 9 <= end) {
      contribution = readDouble(bytes, pos + 1);
      pos += 9;
    } else if (tag === TAG_FEATURE_VALUE && pos + 9 <= end) {
      value = readDouble(bytes, pos + 1);
      pos += 9;
    } else if (tag === TAG_FEATURE_NAME) {
      cursor = pos + 1;
      const len = readLength(bytes, end);
      if (len < 0 || cursor + len > end) return undefined;
      let s = "";
      for (let i = cursor; i < cursor + len; i++) {
        const c = bytes[i] as number;
        if (c >= 0x80) return undefined;
        s += String.fromCharCode(c);
      }
      feature = s;
      pos = cursor + len;
    } else {
      return undefined;
    }
  }
  return { $typeName: "netanomaly.v1.FeatureContribution", feature, contribution, value };
}

/**
 * The `EventScore` of an `EventResult` that holds one score and nothing
 * the fast path leaves to `fromBinary`, or undefined.
 *
 * @private Exported for tests, which check the fast path takes what a server sends.
 */
export function readScore(bytes: Uint8Array): EventScore | undefined {
  const n = bytes.length;
  if (n < 2 || bytes[0] !== TAG_RESULT_SCORE) return undefined;
  cursor = 1;
  // One score field that covers the rest.
  const len = readLength(bytes, n);
  if (len < 0 || cursor + len !== n) return undefined;
  let score = 0;
  let verdict = 0;
  const contributions: FeatureContribution[] = [];
  let pos = cursor;
  while (pos < n) {
    const tag = bytes[pos];
    if (tag === TAG_SCORE_SCORE && pos + 9 <= n) {
      score = readDouble(bytes, pos + 1);
      pos += 9;
    } else if (tag === TAG_SCORE_VERDICT && pos + 2 <= n && (bytes[pos + 1] as number) < 0x80) {
      verdict = bytes[pos + 1] as number;
      pos += 2;
    } else if (tag === TAG_SCORE_CONTRIBUTION) {
      cursor = pos + 1;
      const clen = readLength(bytes, n);
      const start = cursor;
      if (clen < 0 || start + clen > n) return undefined;
      // Reading the contribution moves `cursor`.
      const c = readContribution(bytes, start, start + clen);
      if (c === undefined) return undefined;
      contributions.push(c);
      pos = start + clen;
    } else {
      return undefined;
    }
  }
  return { $typeName: "netanomaly.v1.EventScore", score, verdict, contributions };
}

/**
 * Decodes one `netanomaly.v1.EventResult` from its wire bytes into the same
 * plain object `fromBinary(EventResultSchema, bytes)` returns (field for
 * field, `-0` and NaN payloads included), without protobuf-es's reflection.
 *
 * The fast path reads what a scoring server sends for an event it scored:
 * a score with its double, its verdict (each at most once, or repeated:
 * the last one wins, as protobuf says) and the contributions of an
 * anomaly (ASCII feature names), no unknown fields. Anything else — an
 * error outcome, an unknown field, a non-ASCII name, a multi-byte verdict,
 * a length of more than two bytes — goes through
 * `fromBinary`, so the answer never differs; bytes `fromBinary` rejects
 * throw the `internal` error Connect's own parser throws ("parse binary: …").
 *
 * @param bytes - one `EventResult`, as it sits inside a `StreamScoreResponse`.
 * @returns the decoded result; a fresh object each call.
 */
export function decodeEventResult(bytes: Uint8Array): EventResult {
  const value = readScore(bytes);
  if (value !== undefined) {
    return { $typeName: "netanomaly.v1.EventResult", outcome: { case: "score", value } };
  }
  try {
    return fromBinary(EventResultSchema, bytes);
  } catch (e) {
    // The words and code Connect's binary parser uses for a response it cannot read.
    const m = e instanceof Error ? e.message : String(e);
    throw new ConnectError(`parse binary: ${m}`, Code.Internal);
  }
}
