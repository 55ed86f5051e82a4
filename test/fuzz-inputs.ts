import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  ScoreRequestSchema,
  StreamScoreRequestSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";

/** A seeded PRNG (mulberry32): the same seed gives the same inputs on every run. */
export function createRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[int(items.length)] as T,
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
  };
}

export type Random = ReturnType<typeof createRandom>;

const EVENT = create(NetworkEventSchema, {
  timestamp: timestampFromMs(Date.UTC(2024, 11, 2, 9)),
  processPath: "C:\\Windows\\System32\\svchost.exe",
  processHash: "a343f3f6e554",
  sourceIp: "192.168.1.5",
  destIp: "168.61.215.74",
  destDomain: "time.windows.com",
  destPort: 123,
  bytesSent: 49n,
  bytesRecv: 48n,
  protocol: "UDP",
  dnsQuery: "time.windows.com",
  parentProcess: "services.exe",
  userContext: "SYSTEM",
});

/** A valid `ScoreRequest`, binary. */
export const VALID_SCORE = toBinary(
  ScoreRequestSchema,
  create(ScoreRequestSchema, { event: EVENT }),
);

/** A valid `StreamScoreRequest` with three events, binary. */
export const VALID_STREAM = toBinary(
  StreamScoreRequestSchema,
  create(StreamScoreRequestSchema, { requestId: "1", events: [EVENT, EVENT, EVENT] }),
);

/** Flips bits, cuts, duplicates and inserts bytes in a valid message. */
export function mutate(r: Random, message: Uint8Array): Uint8Array {
  const out = [...message];
  const edits = 1 + r.int(6);
  for (let e = 0; e < edits; e++) {
    const at = r.int(Math.max(out.length, 1));
    switch (r.int(5)) {
      case 0:
        out[at] = (out[at] ?? 0) ^ (1 << r.int(8));
        break;
      case 1:
        out.length = at;
        break;
      case 2:
        out.splice(at, 0, ...r.bytes(1 + r.int(8)));
        break;
      case 3:
        out[at] = r.pick([0x00, 0x7f, 0x80, 0xff]);
        break;
      default:
        out.splice(at, 0, ...out.slice(at, at + 1 + r.int(16)));
    }
  }
  return Uint8Array.from(out);
}

/** A gRPC / Connect-streaming envelope: flags, big-endian length, payload. */
export function envelope(payload: Uint8Array, flags = 0, length = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(length >>> 0, 1);
  return Buffer.concat([head, payload]);
}

/** A malformed protobuf message: random bytes, or a mutated valid one. */
export function badMessage(r: Random, valid: Uint8Array): Uint8Array {
  return r.next() < 0.5 ? r.bytes(r.int(300)) : mutate(r, valid);
}

/**
 * A malformed enveloped body (gRPC, gRPC-Web, Connect streaming): a valid
 * envelope around garbage, a truncated frame, a wrong length prefix, the
 * compressed flag with no encoding, trailing bytes, or no envelope at all.
 */
export function badEnvelopedBody(r: Random, valid: Uint8Array): Buffer {
  const message = badMessage(r, valid);
  switch (r.int(8)) {
    case 0:
    case 1:
      return envelope(message);
    case 2: {
      const whole = envelope(valid);
      return whole.subarray(0, r.int(whole.length)); // truncated frame
    }
    case 3:
      return envelope(valid, 0, valid.length + 1 + r.int(1000)); // promises more than it sends
    case 4:
      return envelope(valid, 0, r.pick([0xffffffff, 0x7fffffff, 64 * 1024 * 1024])); // huge prefix
    case 5:
      return envelope(valid, 1); // compressed flag, no grpc-encoding
    case 6:
      return Buffer.concat([envelope(valid), envelope(message), Buffer.from(r.bytes(r.int(4)))]);
    default:
      return Buffer.from(message); // no envelope
  }
}

/** Deeply nested JSON, e.g. `{"event":[[[[…]]]]}`. */
function nested(depth: number): string {
  return `{"event":${"[".repeat(depth)}${"]".repeat(depth)}}`;
}

/** Malformed or hostile Connect JSON bodies. */
export function badJsonBody(r: Random): string {
  const cases: (() => string)[] = [
    () => new TextDecoder().decode(r.bytes(r.int(200))), // not JSON at all
    () => '{"event":{"destPort":443'.slice(0, r.int(25)), // truncated
    () =>
      JSON.stringify({
        event: { destPort: r.pick(["443", true, [], {}, -1, 1.5, Number.POSITIVE_INFINITY]) },
      }),
    () =>
      `{"event":{"destPort":${r.pick(["1e400", "-0", "99999999999999999999999", "NaN", "0x10"])}}}`,
    () =>
      `{"event":{"bytesSent":${r.pick(['"18446744073709551616"', '"-1"', "1e30", '"1.5"', '"abc"'])}}}`,
    () =>
      `{"event":{"timestamp":${r.pick(['"not a time"', '"9999-99-99T00:00:00Z"', "12", '"1969-12-31T23:59:59Z"'])}}}`,
    () => nested(r.pick([100, 1000, 10_000, 100_000])),
    () =>
      JSON.stringify({ event: { processPath: "x".repeat(r.pick([2000, 100_000, 1_000_000])) } }),
    () =>
      JSON.stringify({
        event: {
          destDomain: r.pick(["\ud800", "\udfff\ud800", "\u0000", "\ufeff", "a\u202eb", "𝔘𝔫𝔦"]),
        },
      }),
    () => `\ufeff${JSON.stringify({ event: { destPort: 443 } })}`,
    () => `{"event":{"destDomain":"\\ud800\\u0000"}}`,
    () => JSON.stringify({ event: { destPort: 443 }, unknownField: r.int(10) }),
    () => JSON.stringify({ event: { bogus: { deeper: [1, 2, 3] } } }),
    () => r.pick(["null", "[]", '""', "0", "true", "{}", '{"event":null}', '{"event":"x"}']),
    () => `{"event":{"destPort":443,"destPort":80}}`, // duplicate keys
    () => `{"a":1}`.repeat(1 + r.int(5)),
  ];
  return r.pick(cases)();
}

/** Malformed HTTP/1.1 requests, as raw bytes. */
export function badHttp1(r: Random, path: string): Buffer {
  const cases: (() => string | Uint8Array)[] = [
    () => r.bytes(1 + r.int(400)),
    () => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`,
    () => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`,
    () =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n`,
    () =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    () =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(r.pick([10_000, 70_000]))}\r\n\r\n`,
    () => `${"A".repeat(r.int(5000))} / HTTP/1.1\r\n\r\n`,
    () => `POST ${path} HTTP/9.9\r\n\r\n`,
    () =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n{{{{`,
    () => `POST ${path} HTTP/1.1\nHost: x\nContent-Type: application/grpc-web+proto\n\n`,
    () => `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${new TextDecoder().decode(r.bytes(r.int(100)))}`,
    () => "PRI * HTTP/2",
  ];
  const out = r.pick(cases)();
  return Buffer.from(typeof out === "string" ? Buffer.from(out, "latin1") : out);
}

/** Raw HTTP/2: the preface, then random or malformed frames. */
export function badHttp2Frames(r: Random): Buffer {
  const frames: Buffer[] = [Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")];
  if (r.next() < 0.7) frames.push(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // empty SETTINGS
  for (let i = 1 + r.int(4); i > 0; i--) {
    const payload = r.bytes(r.int(64));
    const head = Buffer.alloc(9);
    head.writeUIntBE(r.next() < 0.8 ? payload.length : r.int(1 << 24), 0, 3);
    head[3] = r.int(12);
    head[4] = r.int(256);
    head.writeUInt32BE(r.pick([0, 1, 3, 2, 0x7fffffff, r.int(2 ** 32)]) >>> 0, 5);
    frames.push(head, Buffer.from(payload));
  }
  return Buffer.concat(frames);
}
