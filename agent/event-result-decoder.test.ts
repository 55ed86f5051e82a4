import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  type EventResult,
  EventResultSchema,
  StreamScoreResponseSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { Verdict } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createSimRandom } from "../telemetry/sim-random.js";
import { decodeEventResult, readScore } from "./event-result-decoder.js";
import { ScoringServiceView } from "./stream-score-view.js";

const encode = (r: EventResult) => toBinary(EventResultSchema, r);

const scored = (score: number, verdict: number): EventResult =>
  create(EventResultSchema, { outcome: { case: "score", value: { score, verdict } } });

/** A double from eight random bytes: NaN payloads, denormals, ±0 and ±∞ all turn up. */
function randomDouble(next: () => number): number {
  const view = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 8; i++) view.setUint8(i, Math.floor(next() * 256));
  return view.getFloat64(0, true);
}

/** Asserts the decoder and protobuf-es agree: the same object, or both throw. */
function expectAgree(bytes: Uint8Array, what: string): void {
  let want: EventResult | undefined;
  let wantError: unknown;
  try {
    want = fromBinary(EventResultSchema, bytes);
  } catch (e) {
    wantError = e;
  }
  if (want !== undefined) {
    expect(decodeEventResult(bytes), what).toStrictEqual(want);
    return;
  }
  expect(wantError, what).toBeInstanceOf(Error);
  try {
    decodeEventResult(bytes);
    expect.unreachable(`${what}: decoded bytes fromBinary rejects`);
  } catch (e) {
    expect(e, what).toBeInstanceOf(ConnectError);
    expect((e as ConnectError).code, what).toBe(Code.Internal);
    expect((e as ConnectError).rawMessage, what).toBe(
      `parse binary: ${(wantError as Error).message}`,
    );
  }
}

/** {@link expectAgree} on every prefix of `bytes` and every one-byte change of it. */
function expectAgreeOnEveryChange(bytes: Uint8Array): void {
  for (let n = 0; n <= bytes.length; n++) expectAgree(bytes.subarray(0, n), `prefix ${n}`);
  for (let i = 0; i < bytes.length; i++) {
    for (let v = 0; v < 256; v++) {
      const changed = Uint8Array.from(bytes);
      changed[i] = v;
      expectAgree(changed, `byte ${i} = ${v}`);
    }
  }
}

describe("decodeEventResult()", () => {
  it("returns what fromBinary returns for 20,000 random scored results", () => {
    const rnd = createSimRandom(11);
    const next = () => rnd.next();
    for (let i = 0; i < 20_000; i++) {
      const score = i % 2 === 0 ? next() : randomDouble(next);
      const verdict = [Verdict.NORMAL, Verdict.ANOMALOUS, Verdict.UNSPECIFIED][i % 3] as number;
      expectAgree(encode(scored(score, verdict)), `result ${i}`);
    }
  });

  it("returns what fromBinary returns for the edge cases", () => {
    const cases: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["zero score", encode(scored(0, 0))],
      ["negative zero", encode(scored(-0, 1))],
      ["NaN", encode(scored(Number.NaN, 2))],
      ["infinity", encode(scored(Number.POSITIVE_INFINITY, 2))],
      ["verdict 127", encode(scored(0.5, 127))],
      ["verdict 128 (two-byte varint)", encode(scored(0.5, 128))],
      ["verdict -1 (ten-byte varint)", encode(scored(0.5, -1))],
      ["verdict 2^31-1", encode(scored(0.5, 2 ** 31 - 1))],
      [
        "contributions",
        encode(
          create(EventResultSchema, {
            outcome: {
              case: "score",
              value: {
                score: 0.7,
                verdict: Verdict.ANOMALOUS,
                contributions: [{ feature: "dest_port", contribution: 0.25 }],
              },
            },
          }),
        ),
      ],
      [
        "error",
        encode(
          create(EventResultSchema, {
            outcome: {
              case: "error",
              value: { code: "invalid_argument", message: "bad", field: "dest_port" },
            },
          }),
        ),
      ],
      ["error outcome, all empty", Uint8Array.of(0x12, 0x00)],
      ["score outcome, all zero (empty message)", Uint8Array.of(0x0a, 0x00)],
      [
        "verdict before score",
        Uint8Array.of(0x0a, 0x0b, 0x10, 0x02, 0x09, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f),
      ],
      [
        "score twice: the last wins",
        Uint8Array.of(
          0x0a,
          0x12,
          0x09,
          0,
          0,
          0,
          0,
          0,
          0,
          0xf0,
          0x3f,
          0x09,
          0,
          0,
          0,
          0,
          0,
          0,
          0xe0,
          0x3f,
        ),
      ],
      [
        "outcome twice: the messages merge",
        Buffer.concat([encode(scored(0.25, 0)), Uint8Array.of(0x0a, 0x02, 0x10, 0x02)]),
      ],
      [
        "score then error: the last wins",
        Buffer.concat([encode(scored(0.25, 2)), Uint8Array.of(0x12, 0x00)]),
      ],
      ["unknown field in the score", Uint8Array.of(0x0a, 0x04, 0x10, 0x02, 0x20, 0x05)],
      [
        "unknown field in the result",
        Buffer.concat([encode(scored(0.25, 2)), Uint8Array.of(0x18, 0x07)]),
      ],
      ["two-byte length", Uint8Array.of(0x0a, 0x82, 0x00, 0x10, 0x02)],
      ["score with a varint wire type", Uint8Array.of(0x0a, 0x02, 0x08, 0x01)],
      ["verdict with a fixed64 wire type", Uint8Array.of(0x0a, 0x09, 0x11, 1, 2, 3, 4, 5, 6, 7, 8)],
      ["length past the end", Uint8Array.of(0x0a, 0x0b, 0x10, 0x02)],
      ["double cut short", Uint8Array.of(0x0a, 0x05, 0x09, 0, 0, 0, 0)],
      ["verdict cut short", Uint8Array.of(0x0a, 0x02, 0x10, 0x82)],
      ["group end tag", Uint8Array.of(0x0c)],
    ];
    for (const [what, bytes] of cases) expectAgree(bytes, what);
  });

  it("agrees with fromBinary on every prefix and every one-byte change of a scored result", () => {
    const bytes = encode(scored(0.6123, Verdict.ANOMALOUS));
    expectAgreeOnEveryChange(bytes);
  });
  it("agrees with fromBinary on every prefix and every one-byte change of an anomaly with a contribution", () => {
    const bytes = encode(
      create(EventResultSchema, {
        outcome: {
          case: "score",
          value: {
            score: 0.81,
            verdict: Verdict.ANOMALOUS,
            contributions: [{ feature: "dst_port", contribution: -0.02, value: 4444 }],
          },
        },
      }),
    );
    expectAgreeOnEveryChange(bytes);
  });

  it("returns what fromBinary returns for results with many contributions (two-byte lengths)", () => {
    const contributions = Array.from({ length: 12 }, (_, i) => ({
      feature: `feature_number_${i}`,
      contribution: i / 7,
      value: -i * 1e9,
    }));
    const bytes = encode(
      create(EventResultSchema, {
        outcome: {
          case: "score",
          value: { score: 0.9, verdict: Verdict.ANOMALOUS, contributions },
        },
      }),
    );
    expect(bytes[1]).toBeGreaterThanOrEqual(0x80);
    expectAgree(bytes, "twelve contributions");
    const nonAscii = encode(
      create(EventResultSchema, {
        outcome: {
          case: "score",
          value: { score: 0.9, verdict: 2, contributions: [{ feature: "débit", contribution: 1 }] },
        },
      }),
    );
    expectAgree(nonAscii, "a non-ASCII feature name");
  });
});

describe("readScore()", () => {
  it("reads what a server sends without fromBinary: a normal score, and an anomaly with five contributions", () => {
    const normal = encode(scored(0.4123, Verdict.NORMAL));
    const anomaly = encode(
      create(EventResultSchema, {
        outcome: {
          case: "score",
          value: {
            score: 0.93,
            verdict: Verdict.ANOMALOUS,
            contributions: [
              "bytes_sent_vs_baseline",
              "bytes_sent_log",
              "rarity_top3_mean",
              "sent_recv_ratio_log",
              "dest_rarity",
            ].map((feature, i) => ({ feature, contribution: 4.2 - i, value: 12.6 * i })),
          },
        },
      }),
    );
    expect(anomaly[1]).toBeGreaterThanOrEqual(0x80);
    for (const bytes of [normal, anomaly]) {
      const want = fromBinary(EventResultSchema, bytes).outcome.value;
      expect(readScore(bytes)).toStrictEqual(want);
    }
  });
});

describe("ScoringServiceView", () => {
  it("is StreamScore on netanomaly.v1.ScoringService, with the same request", () => {
    const method = ScoringServiceView.method.streamScore;
    expect(ScoringServiceView.typeName).toBe("netanomaly.v1.ScoringService");
    expect(ScoringServiceView.methods).toEqual([method]);
    expect(method.name).toBe("StreamScore");
    expect(method.methodKind).toBe("bidi_streaming");
    expect(method.input.typeName).toBe("netanomaly.v1.StreamScoreRequest");
    expect(method.output.typeName).toBe("netanomaly.v1.StreamScoreResponse");
  });

  it("reads a response's fields as protobuf-es does, and each result's bytes", () => {
    const results = [
      scored(0.41, Verdict.NORMAL),
      scored(0.73, Verdict.ANOMALOUS),
      create(EventResultSchema, {
        outcome: { case: "error", value: { code: "invalid_argument", message: "m", field: "f" } },
      }),
    ];
    const response = create(StreamScoreResponseSchema, {
      requestId: "42",
      results,
      modelVersion: "tel-20261207",
      threshold: 0.62,
    });
    const bytes = toBinary(StreamScoreResponseSchema, response);
    const view = fromBinary(ScoringServiceView.method.streamScore.output, bytes);
    expect(view.requestId).toBe("42");
    expect(view.modelVersion).toBe("tel-20261207");
    expect(view.threshold).toBe(0.62);
    expect(view.results.map((r) => Buffer.from(r))).toEqual(
      results.map((r) => Buffer.from(encode(r))),
    );
    expect(view.results.map(decodeEventResult)).toStrictEqual(
      fromBinary(StreamScoreResponseSchema, bytes).results,
    );
  });
});
