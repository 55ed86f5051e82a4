import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  StreamScoreRequestSchema,
  StreamScoreResponseSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { NetworkEventSchema, Verdict } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createSimulator } from "../telemetry/simulator.js";
import { envelope as frame } from "../test/fuzz-inputs.js";
import { EventsEncoder } from "./event-encoder.js";
import { decodeEventResult } from "./event-result-decoder.js";
import { GrpcFrameReader, requestFrame } from "./grpc-frames.js";
import { decodeStreamScoreResponse } from "./stream-score-view.js";

/** Feeds `chunks` to a reader and returns the messages it completed, in hex (quick to compare). */
function read(chunks: Buffer[], reader = new GrpcFrameReader()): string[] {
  const got: string[] = [];
  for (const c of chunks) reader.push(c, (m) => got.push(Buffer.from(m).toString("hex")));
  return got;
}

const hex = (bufs: Buffer[]) => bufs.map((b) => b.toString("hex"));

const messages = [
  Buffer.from("first"),
  Buffer.alloc(0),
  Buffer.alloc(70_000, 7), // longer than one HTTP/2 DATA frame
  Buffer.from([1, 2, 3]),
];
const stream = Buffer.concat(messages.map((m) => frame(m)));

describe("GrpcFrameReader.push()", () => {
  it("reads every message of a chunk holding several", () => {
    expect(read([stream])).toEqual(hex(messages));
  });

  it("puts messages back together when fed one byte at a time", () => {
    const reader = new GrpcFrameReader();
    const bytes = Array.from(stream, (b) => Buffer.of(b));
    expect(read(bytes, reader)).toEqual(hex(messages));
    expect(reader.pending).toBe(0);
  });

  it("reads messages split anywhere across chunks of every size from 2 to 17 bytes", () => {
    for (let size = 2; size <= 17; size++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
      expect(read(chunks), `chunks of ${size}`).toEqual(hex(messages));
    }
  });

  it("keeps a cut message pending until the rest arrives", () => {
    const reader = new GrpcFrameReader();
    const one = frame(Buffer.from("hello"));
    expect(read([one.subarray(0, 7)], reader)).toEqual([]);
    expect(reader.pending).toBe(7);
    expect(read([one.subarray(7)], reader)).toEqual(hex([Buffer.from("hello")]));
    expect(reader.pending).toBe(0);
  });

  it("rejects a compressed message with internal, saying so", () => {
    const err = catchError(() => read([frame(Buffer.from("x"), 1)]));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toMatch(/received a compressed message/);
  });

  it("rejects a compressed message whose header arrives byte by byte", () => {
    const bytes = Array.from(frame(Buffer.from("xyz"), 1), (b) => Buffer.of(b));
    expect(catchError(() => read(bytes)).rawMessage).toMatch(/compressed message/);
  });

  it("rejects undefined flags with internal", () => {
    expect(catchError(() => read([frame(Buffer.from("x"), 0x80)])).rawMessage).toBe(
      "protocol error: message flags 0x80 are not defined by gRPC",
    );
  });

  it("rejects a message over the limit with resource_exhausted before it arrives", () => {
    const reader = new GrpcFrameReader(10);
    const err = catchError(() => read([frame(Buffer.alloc(11)).subarray(0, 5)], reader));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe("message size 11 is larger than configured readMaxBytes 10");
  });
});

describe("decodeStreamScoreResponse()", () => {
  it("reads what protobuf-es writes: id, each result's bytes, model version, threshold", () => {
    const response = create(StreamScoreResponseSchema, {
      requestId: "é-123",
      modelVersion: "iforest-2024-12-16-with-a-long-name",
      threshold: 0.5625,
      results: [
        { outcome: { case: "score", value: { score: 0.7, verdict: Verdict.ANOMALOUS } } },
        {
          outcome: {
            case: "error",
            value: { code: "invalid_argument", message: "bad port", field: "dest_port" },
          },
        },
        { outcome: { case: "score", value: { score: 0.31, verdict: Verdict.NORMAL } } },
      ],
    });
    const bytes = toBinary(StreamScoreResponseSchema, response);
    const view = decodeStreamScoreResponse(bytes);
    expect(view.requestId).toBe(response.requestId);
    expect(view.modelVersion).toBe(response.modelVersion);
    expect(view.threshold).toBe(response.threshold);
    expect(view.results.map((r) => decodeEventResult(r))).toEqual(response.results);
  });

  it("skips unknown fields of every wire type", () => {
    const bytes = Buffer.concat([
      Buffer.from(toBinary(StreamScoreResponseSchema, create(StreamScoreResponseSchema, {}))),
      Buffer.from([0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // 5: varint
      Buffer.from([0x31, 1, 2, 3, 4, 5, 6, 7, 8]), // 6: fixed64
      Buffer.from([0x3a, 2, 9, 9]), // 7: bytes
      Buffer.from([0x45, 1, 2, 3, 4]), // 8: fixed32
      Buffer.from([0x0a, 1, 0x37]), // request_id "7"
    ]);
    expect(decodeStreamScoreResponse(bytes).requestId).toBe("7");
  });

  it("rejects a cut message with internal, naming the byte", () => {
    const bytes = toBinary(
      StreamScoreResponseSchema,
      create(StreamScoreResponseSchema, { requestId: "12", modelVersion: "m" }),
    );
    const err = catchError(() => decodeStreamScoreResponse(bytes.subarray(0, bytes.length - 1)));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toMatch(
      /^cannot decode netanomaly.v1.StreamScoreResponse: length 1 past the end at byte \d+ of 6$/,
    );
  });
});

describe("requestFrame()", () => {
  it("frames the bytes protobuf-es writes for the request, pre-encoded or not", () => {
    const sim = createSimulator({ seed: 4, anomalyRate: 0.2 });
    const encoder = new EventsEncoder();
    for (const size of [1, 2, 100, 1000]) {
      const events = Array.from({ length: size }, () => sim.next().event);
      const id = String(size * 7919);
      const expected = toBinary(
        StreamScoreRequestSchema,
        create(StreamScoreRequestSchema, { requestId: id, events }),
      );
      const want = frame(expected).toString("hex");
      expect(requestFrame(encoder.request(id, events)).toString("hex"), `batch ${size}`).toBe(want);
      expect(
        requestFrame(create(StreamScoreRequestSchema, { requestId: id, events })).toString("hex"),
        `batch ${size} as objects`,
      ).toBe(want);
    }
  });

  it("frames an empty request as protobuf-es writes it", () => {
    const empty = create(StreamScoreRequestSchema, {});
    expect(requestFrame(empty)).toEqual(frame(toBinary(StreamScoreRequestSchema, empty)));
    const onlyEvents = new EventsEncoder().request("", [create(NetworkEventSchema, {})]);
    const back = fromBinary(StreamScoreRequestSchema, requestFrame(onlyEvents).subarray(5));
    expect(back.events).toEqual([create(NetworkEventSchema, {})]);
  });
});

function catchError(f: () => unknown): ConnectError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectError);
    return e as ConnectError;
  }
  throw new Error("expected an error");
}
