import type { UnknownField } from "@bufbuild/protobuf";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  type EventResult,
  EventResultSchema,
  ScoreRequestSchema,
  ScoreResponseSchema,
  StreamScoreRequestSchema,
  StreamScoreResponseSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import {
  type FeatureContribution,
  type NetworkEvent,
  NetworkEventSchema,
  type Verdict,
} from "../gen/netanomaly/v1/telemetry_pb.js";
import {
  decodeScoreRequest,
  decodeStreamScoreRequest,
  encodeScoreResponseEnvelope,
  encodeStreamScoreResponseEnvelope,
} from "./network-event-codec.js";

/** mulberry32: a small seeded PRNG, so every run sees the same cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const PIECES = [
  "a",
  "Z",
  "0",
  ".",
  "/",
  "é",
  "ß",
  "中",
  "文",
  "😀",
  "\u0000",
  "\u007f",
  "\u0080",
  "\uffff",
  "𝄞",
];

function randomString(rng: Rng, max = 40): string {
  const kind = rng.int(5);
  if (kind === 0) return "";
  if (kind === 1) return "x".repeat(rng.int(300)); // lengths past one varint byte
  let s = "";
  const n = rng.int(max);
  for (let i = 0; i < n; i++) s += rng.pick(PIECES);
  return s;
}

function randomU64(rng: Rng): bigint {
  return rng.pick([
    0n,
    1n,
    127n,
    128n,
    BigInt(rng.int(1 << 30)),
    2n ** 53n - 1n,
    2n ** 53n,
    2n ** 63n,
    2n ** 64n - 1n,
    BigInt(rng.int(1 << 30)) * 2n ** 32n + BigInt(rng.int(1 << 30)),
  ]);
}

function randomDouble(rng: Rng): number {
  return rng.pick([
    0,
    1,
    -1,
    0.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -1e-300,
    1e300,
    rng.next(),
    -rng.next(),
  ]);
}

/** Unknown fields of every wire type, groups nested, as protobuf-es keeps them in `$unknown`. */
function randomUnknown(rng: Rng): UnknownField[] {
  const fields: UnknownField[] = [];
  const n = rng.int(3);
  for (let i = 0; i < n; i++) {
    const no = rng.pick([14, 15, 99, 1000, 536870911]);
    const wt = rng.pick([
      WireType.Varint,
      WireType.Bit64,
      WireType.LengthDelimited,
      WireType.StartGroup,
      WireType.Bit32,
    ]);
    const w = new BinaryWriter();
    switch (wt) {
      case WireType.Varint:
        w.uint64(randomU64(rng));
        break;
      case WireType.Bit64:
        w.fixed64(randomU64(rng));
        break;
      case WireType.Bit32:
        w.fixed32(rng.int(2 ** 31));
        break;
      case WireType.LengthDelimited:
        w.string(randomString(rng));
        break;
      case WireType.StartGroup:
        // Nested content, then the matching end tag.
        w.tag(1, WireType.Varint).uint32(rng.int(1000));
        w.tag(2, WireType.StartGroup).tag(3, WireType.Bit32).fixed32(7).tag(2, WireType.EndGroup);
        w.tag(no, WireType.EndGroup);
        break;
    }
    fields.push({ no, wireType: wt, data: w.finish() });
  }
  return fields;
}

function randomEvent(rng: Rng): NetworkEvent {
  const e = create(NetworkEventSchema, {
    processPath: randomString(rng),
    processHash: randomString(rng),
    sourceIp: randomString(rng),
    destIp: randomString(rng),
    destDomain: randomString(rng),
    destPort: rng.pick([0, 1, 443, 65535, 4294967295, rng.int(70000)]),
    bytesSent: randomU64(rng),
    bytesRecv: randomU64(rng),
    protocol: randomString(rng),
    dnsQuery: randomString(rng),
    parentProcess: randomString(rng),
    userContext: randomString(rng),
  });
  if (rng.int(3) > 0) {
    e.timestamp = {
      $typeName: "google.protobuf.Timestamp",
      seconds: rng.pick([0n, 1n, -1n, -(2n ** 63n), 2n ** 63n - 1n, BigInt(rng.int(2 ** 31))]),
      nanos: rng.pick([0, 1, 999_999_999, -1, rng.int(1e9)]),
      ...(rng.int(4) === 0 ? { $unknown: randomUnknown(rng) } : {}),
    };
  }
  if (rng.int(4) === 0) e.$unknown = randomUnknown(rng);
  return e;
}

function randomStreamRequestBytes(rng: Rng): Uint8Array {
  const req = create(StreamScoreRequestSchema, { requestId: randomString(rng) });
  const n = rng.pick([0, 1, 2, 5, 20]);
  for (let i = 0; i < n; i++) req.events.push(randomEvent(rng));
  if (rng.int(4) === 0) req.$unknown = randomUnknown(rng);
  return toBinary(StreamScoreRequestSchema, req);
}

function randomScoreRequestBytes(rng: Rng): Uint8Array {
  const req = create(ScoreRequestSchema, rng.int(5) === 0 ? {} : { event: randomEvent(rng) });
  if (rng.int(4) === 0) req.$unknown = randomUnknown(rng);
  return toBinary(ScoreRequestSchema, req);
}

/** Runs both decoders; both must throw the same message or return deep-equal messages. */
function expectSameDecode<T>(
  ours: (b: Uint8Array) => T,
  theirs: (b: Uint8Array) => T,
  bytes: Uint8Array,
) {
  let want: { ok: T } | { error: string };
  try {
    want = { ok: theirs(bytes) };
  } catch (e) {
    want = { error: (e as Error).message };
  }
  let got: { ok: T } | { error: string };
  try {
    got = { ok: ours(bytes) };
  } catch (e) {
    got = { error: (e as Error).message };
  }
  expect(got).toStrictEqual(want);
  return "ok" in want;
}

const theirsStream = (b: Uint8Array) =>
  fromBinary(StreamScoreRequestSchema, b, { readUnknownFields: false });
const theirsScore = (b: Uint8Array) =>
  fromBinary(ScoreRequestSchema, b, { readUnknownFields: false });

function mutate(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  switch (rng.int(4)) {
    case 0:
      return out.subarray(0, rng.int(out.length + 1)); // truncated
    case 1: {
      for (let k = 0; k < 1 + rng.int(3) && out.length > 0; k++)
        out[rng.int(out.length)] = rng.int(256);
      return out;
    }
    case 2:
      if (out.length > 0) out[rng.int(out.length)] ^= 0x80; // a continuation bit
      return out;
    default: {
      const junk = Uint8Array.from({ length: 1 + rng.int(12) }, () => rng.int(256));
      const at = rng.int(out.length + 1);
      return Uint8Array.from([...out.subarray(0, at), ...junk, ...out.subarray(at)]);
    }
  }
}

describe("decodeStreamScoreRequest()", () => {
  it("decodes 500 random requests (unknown fields, unicode, extreme values) as fromBinary does", () => {
    const rng = prng(1);
    for (let i = 0; i < 500; i++) {
      expect(
        expectSameDecode(decodeStreamScoreRequest, theirsStream, randomStreamRequestBytes(rng)),
      ).toBe(true);
    }
  });

  it("accepts or rejects 1500 mutated requests exactly as fromBinary does, with the same message", () => {
    const rng = prng(2);
    let rejected = 0;
    for (let i = 0; i < 1500; i++) {
      if (
        !expectSameDecode(
          decodeStreamScoreRequest,
          theirsStream,
          mutate(rng, randomStreamRequestBytes(rng)),
        )
      ) {
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(250);
  });

  it("reads the right strings when repeated values share and reuse the intern table's slots", () => {
    // More distinct values than the table has slots, read twice in
    // different orders: hits, misses and evicted slots all give the bytes' string.
    const values = Array.from({ length: 10_000 }, (_, i) =>
      i % 3 === 0
        ? `c:\\app\\p${i}.exe`
        : i % 3 === 1
          ? `${i}`.padStart(64, "f")
          : `h${i}.example.com`,
    );
    const request = (ids: number[]) =>
      toBinary(
        StreamScoreRequestSchema,
        create(StreamScoreRequestSchema, {
          requestId: `r${ids[0]}`,
          events: ids.map((i) => ({
            processPath: values[i] as string,
            processHash: values[(i * 7) % values.length] as string,
            destDomain: values[(i * 13) % values.length] as string,
          })),
        }),
      );
    for (const order of [(i: number) => i, (i: number) => (i * 7919) % values.length]) {
      for (let start = 0; start < values.length; start += 100) {
        const ids = Array.from({ length: 100 }, (_, k) => order(start + k));
        const bytes = request(ids);
        expect(decodeStreamScoreRequest(bytes)).toEqual(theirsStream(bytes));
      }
    }
  });

  it("rejects invalid UTF-8 in a string with the decoder's error", () => {
    const bytes = Uint8Array.from([0x0a, 0x02, 0xc3, 0x28]);
    expect(() => theirsStream(bytes)).toThrow();
    expectSameDecode(decodeStreamScoreRequest, theirsStream, bytes);
  });

  it("merges a repeated singular timestamp and reads known fields whatever their wire type", () => {
    const w = new BinaryWriter();
    w.tag(2, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(5n).join();
    w.tag(1, WireType.LengthDelimited).fork().tag(2, WireType.Varint).int32(7).join();
    w.tag(7, WireType.LengthDelimited).uint32(443); // dest_port sent with the wrong wire type
    w.join();
    const bytes = w.finish();
    expectSameDecode(decodeStreamScoreRequest, theirsStream, bytes);
    expect(decodeStreamScoreRequest(bytes).events[0]?.timestamp).toMatchObject({
      seconds: 5n,
      nanos: 7,
    });
  });

  it("rejects a group nested past the recursion limit", () => {
    const w = new BinaryWriter();
    for (let i = 0; i < 120; i++) w.tag(20, WireType.StartGroup);
    for (let i = 0; i < 120; i++) w.tag(20, WireType.EndGroup);
    expectSameDecode(decodeStreamScoreRequest, theirsStream, w.finish());
  });
});

describe("decodeScoreRequest()", () => {
  it("decodes 500 random requests as fromBinary does", () => {
    const rng = prng(3);
    for (let i = 0; i < 500; i++) {
      expect(expectSameDecode(decodeScoreRequest, theirsScore, randomScoreRequestBytes(rng))).toBe(
        true,
      );
    }
  });

  it("accepts or rejects 2000 mutated requests exactly as fromBinary does", () => {
    const rng = prng(4);
    for (let i = 0; i < 2000; i++) {
      expectSameDecode(decodeScoreRequest, theirsScore, mutate(rng, randomScoreRequestBytes(rng)));
    }
  });

  it("merges two event fields into one event", () => {
    const a = toBinary(
      ScoreRequestSchema,
      create(ScoreRequestSchema, { event: { processPath: "a", destPort: 1 } }),
    );
    const b = toBinary(
      ScoreRequestSchema,
      create(ScoreRequestSchema, { event: { protocol: "tcp" } }),
    );
    const bytes = Uint8Array.from([...a, ...b]);
    expectSameDecode(decodeScoreRequest, theirsScore, bytes);
    expect(decodeScoreRequest(bytes).event).toMatchObject({
      processPath: "a",
      destPort: 1,
      protocol: "tcp",
    });
  });
});

function randomContributions(rng: Rng): FeatureContribution[] {
  return Array.from({ length: rng.pick([0, 0, 1, 5]) }, () => ({
    $typeName: "netanomaly.v1.FeatureContribution" as const,
    feature: randomString(rng, 10),
    contribution: randomDouble(rng),
    value: randomDouble(rng),
  }));
}

const LONE = ["\ud800", "a\udc00b", "x\ud83d"]; // lone surrogates: TextEncoder writes U+FFFD

function randomResult(rng: Rng): EventResult {
  switch (rng.int(3)) {
    case 0:
      return create(EventResultSchema); // no outcome: an empty message
    case 1:
      return {
        $typeName: "netanomaly.v1.EventResult",
        outcome: {
          case: "score",
          value: {
            $typeName: "netanomaly.v1.EventScore",
            score: randomDouble(rng),
            verdict: rng.pick([0, 1, 2, -1]) as Verdict, // -1: an open enum can hold it
            contributions: randomContributions(rng),
          },
        },
      };
    default:
      return {
        $typeName: "netanomaly.v1.EventResult",
        outcome: {
          case: "error",
          value: {
            $typeName: "netanomaly.v1.EventError",
            code: rng.pick(["", "invalid_argument"]),
            message: rng.int(5) === 0 ? rng.pick(LONE) : randomString(rng),
            field: randomString(rng, 5),
          },
        },
      };
  }
}

describe("encodeStreamScoreResponseEnvelope()", () => {
  it("writes the bytes toBinary writes, in a gRPC envelope, for 500 random responses", () => {
    const rng = prng(5);
    for (let i = 0; i < 500; i++) {
      const res = create(StreamScoreResponseSchema, {
        requestId: randomString(rng),
        modelVersion: rng.int(8) === 0 ? rng.pick(LONE) : randomString(rng),
        threshold: randomDouble(rng),
        results: Array.from({ length: rng.pick([0, 1, 3, 100]) }, () => randomResult(rng)),
      });
      const env = encodeStreamScoreResponseEnvelope(res);
      const want = toBinary(StreamScoreResponseSchema, res);
      expect(env[0]).toBe(0);
      expect(env.readUInt32BE(1)).toBe(want.length);
      expect(Buffer.from(env.subarray(5)).equals(Buffer.from(want))).toBe(true);
    }
  });

  it("round-trips through fromBinary", () => {
    const rng = prng(6);
    const res = create(StreamScoreResponseSchema, {
      requestId: "r-1 😀",
      modelVersion: "v1",
      threshold: 0.5,
      results: Array.from({ length: 50 }, () => randomResult(rng)),
    });
    const decoded = fromBinary(
      StreamScoreResponseSchema,
      encodeStreamScoreResponseEnvelope(res).subarray(5),
    );
    expect(toBinary(StreamScoreResponseSchema, decoded)).toStrictEqual(
      toBinary(StreamScoreResponseSchema, res),
    );
  });
});

describe("encodeScoreResponseEnvelope()", () => {
  it("writes the bytes toBinary writes for 500 random responses", () => {
    const rng = prng(7);
    for (let i = 0; i < 500; i++) {
      const res = create(ScoreResponseSchema, {
        score: randomDouble(rng),
        verdict: rng.pick([0, 1, 2]),
        threshold: randomDouble(rng),
        modelVersion: randomString(rng),
        contributions: randomContributions(rng),
      });
      const env = encodeScoreResponseEnvelope(res);
      const want = toBinary(ScoreResponseSchema, res);
      expect(env.readUInt32BE(1)).toBe(want.length);
      expect(Buffer.from(env.subarray(5)).equals(Buffer.from(want))).toBe(true);
      expect(fromBinary(ScoreResponseSchema, env.subarray(5)).modelVersion).toBe(res.modelVersion);
    }
  });
});
