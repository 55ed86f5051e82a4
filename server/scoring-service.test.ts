import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { Detector } from "../detector/index.js";
import {
  type StreamScoreRequest,
  StreamScoreRequestSchema,
  type StreamScoreResponse,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { type NetworkEvent, Verdict } from "../gen/netanomaly/v1/telemetry_pb.js";
import { LOG_SCORE_PLACES, roundForLog } from "./logging.js";
import {
  anomalousEvent,
  makeEvent,
  normalEvent,
  routineEvents,
  testDetector,
} from "./testdata/detector.js";
import { inMemoryServer } from "./testdata/harness.js";

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail");
}

function withEvent(fields: Parameters<typeof makeEvent>[0]): NetworkEvent {
  return makeEvent({ ...{ processPath: "chrome.exe", destPort: 443, protocol: "TCP" }, ...fields });
}

function batch(requestId: string, events: NetworkEvent[]): StreamScoreRequest {
  return create(StreamScoreRequestSchema, { requestId, events });
}

async function stream(
  server: ReturnType<typeof inMemoryServer>,
  requests: StreamScoreRequest[],
): Promise<StreamScoreResponse[]> {
  async function* send() {
    yield* requests;
  }
  const out: StreamScoreResponse[] = [];
  for await (const res of server.scoring.streamScore(send())) {
    out.push(res);
  }
  return out;
}

const anomalyLines = (logs: Record<string, unknown>[]) =>
  logs.filter((l) => l.msg === "anomalous event");

describe("ScoringService.Score", () => {
  it("scores a routine event as normal, with threshold, model version and top 5 features", async () => {
    const server = inMemoryServer(testDetector());
    const res = await server.scoring.score({ event: normalEvent() });
    expect(res.score).toBeGreaterThan(0);
    expect(res.score).toBeLessThan(res.threshold);
    expect(res.verdict).toBe(Verdict.NORMAL);
    expect(res.threshold).toBe(testDetector().threshold);
    expect(res.modelVersion).toBe(testDetector().info.version);
    expect(res.contributions).toHaveLength(5);
    expect(res.score).toBe(testDetector().score(normalEvent()));
  });

  it("flags the planted anomaly as anomalous", async () => {
    const server = inMemoryServer(testDetector());
    const res = await server.scoring.score({ event: anomalousEvent() });
    expect(res.score).toBeGreaterThanOrEqual(res.threshold);
    expect(res.verdict).toBe(Verdict.ANOMALOUS);
    const sorted = [...res.contributions].sort((a, b) => b.contribution - a.contribution);
    expect(res.contributions).toEqual(sorted);
  });

  it("rejects a request without an event with invalid_argument", async () => {
    const err = await failure(inMemoryServer(testDetector()).scoring.score({}));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("event is required");
  });

  it.each([
    ["dest_port", { destPort: 70_000 }],
    ["dest_domain", { destDomain: "a".repeat(3 * 1024 * 1024) }],
    ["source_ip", { sourceIp: "10.0.0.300" }],
    ["dest_ip", { destIp: "not-an-ip" }],
    ["timestamp", { timeMs: Date.UTC(2200, 0, 1) }],
    ["protocol", { protocol: "x".repeat(33) }],
  ])("rejects a bad %s with invalid_argument naming the field", async (field, fields) => {
    const err = await failure(
      inMemoryServer(testDetector()).scoring.score({ event: withEvent(fields) }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage.startsWith(`event.${field} `)).toBe(true);
    expect(err.rawMessage.length).toBeLessThan(200);
  });

  it("rejects an empty event with invalid_argument naming the missing required fields", async () => {
    const err = await failure(
      inMemoryServer(testDetector()).scoring.score({ event: makeEvent({}) }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe(
      "event.dest_ip or dest_domain, and dest_port or protocol, are required, and the event has none of them",
    );
  });

  it.each([
    [
      "a port and protocol but no destination",
      { destPort: 443, protocol: "TCP" },
      "dest_ip or dest_domain",
    ],
    [
      "an address but no port or protocol",
      { destIp: "8.8.8.8", bytesSent: 64 },
      "dest_port or protocol",
    ],
  ])("rejects an event with %s, naming the group it lacks", async (_what, fields, group) => {
    const err = await failure(
      inMemoryServer(testDetector()).scoring.score({ event: makeEvent(fields) }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe(`event.${group} is required, and the event has neither`);
  });

  it.each([
    [
      "a flow record (no process, no host name)",
      { destIp: "8.8.8.8", destPort: 53, protocol: "UDP" },
    ],
    ["a proxy line (host name and port only)", { destDomain: "example.com", destPort: 443 }],
    ["an ICMP flow (protocol, no port)", { destIp: "10.0.0.1", protocol: "ICMP" }],
  ])("scores %s", async (_what, fields) => {
    const res = await inMemoryServer(testDetector()).scoring.score({ event: makeEvent(fields) });
    expect(res.score).toBeGreaterThan(0);
  });

  it("scores an unknown protocol as a rare one, not as an error, whatever its case", async () => {
    const server = inMemoryServer(testDetector());
    const known = normalEvent();
    const score = async (protocol: string) =>
      (await server.scoring.score({ event: { ...known, protocol } })).score;
    expect(await score("FOO")).toBeGreaterThan(await score(known.protocol));
    expect(await score("foo")).toBe(await score("FOO"));
    expect(await score(known.protocol.toLowerCase())).toBe(await score(known.protocol));
  });

  it("fails with unavailable while no model is loaded", async () => {
    const err = await failure(inMemoryServer().scoring.score({ event: normalEvent() }));
    expect(err.code).toBe(Code.Unavailable);
  });

  it("scores with the new model after a swap", async () => {
    const server = inMemoryServer();
    server.models.swap(testDetector().withThreshold(1));
    const res = await server.scoring.score({ event: anomalousEvent() });
    expect(res.threshold).toBe(1);
    expect(res.verdict).toBe(Verdict.NORMAL);
  });
});

describe("ScoringService.StreamScore", () => {
  it("answers each request in order with its request_id, model version and threshold", async () => {
    const server = inMemoryServer(testDetector());
    const events = routineEvents(50, 3);
    const out = await stream(server, [
      batch("a", events.slice(0, 20)),
      batch("b", events.slice(20)),
    ]);
    expect(out.map((r) => r.requestId)).toEqual(["a", "b"]);
    expect(out.map((r) => r.results.length)).toEqual([20, 30]);
    for (const res of out) {
      expect(res.modelVersion).toBe(testDetector().info.version);
      expect(res.threshold).toBe(testDetector().threshold);
    }
    const scores = out.flatMap((r) =>
      r.results.map((x) => (x.outcome.case === "score" ? x.outcome.value.score : Number.NaN)),
    );
    expect(scores).toEqual(events.map((e) => testDetector().score(e)));
  });

  it("answers a bad event in the middle with an error result and scores the rest", async () => {
    const server = inMemoryServer(testDetector());
    const events = [normalEvent(), withEvent({ destPort: 99_999 }), anomalousEvent()];
    const out = await stream(server, [batch("r1", events), batch("r2", [normalEvent()])]);
    const [first, second] = out;
    expect(first?.results.map((r) => r.outcome.case)).toEqual(["score", "error", "score"]);
    expect(first?.results[1]?.outcome.value).toMatchObject({
      code: "invalid_argument",
      field: "dest_port",
      message: "dest_port 99999 is out of range 0..65535",
    });
    const anomaly = first?.results[2]?.outcome;
    expect(anomaly?.case === "score" && anomaly.value.verdict).toBe(Verdict.ANOMALOUS);
    expect(anomaly?.case === "score" && anomaly.value.contributions.length).toBe(5);
    const normal = first?.results[0]?.outcome;
    expect(normal?.case === "score" && normal.value.contributions).toEqual([]);
    expect(second?.requestId).toBe("r2");
    expect(second?.results[0]?.outcome.case).toBe("score");
  });

  it("answers an empty event in a batch with an error result naming dest_ip and scores the rest", async () => {
    const server = inMemoryServer(testDetector());
    const [res] = await stream(server, [
      batch("r1", [normalEvent(), makeEvent({}), normalEvent()]),
    ]);
    expect(res?.results.map((r) => r.outcome.case)).toEqual(["score", "error", "score"]);
    expect(res?.results[1]?.outcome.value).toMatchObject({
      code: "invalid_argument",
      field: "dest_ip",
      message:
        "dest_ip or dest_domain, and dest_port or protocol, are required, and the event has none of them",
    });
  });

  it.each([
    ["events", "no events", batch("e0", [])],
    ["events", "1001 events", batch("e1", routineEvents(1001))],
    ["request_id", "a 129-character request_id", batch("x".repeat(129), [normalEvent()])],
  ])("answers a request with %s problem (%s) with one error result", async (field, _what, req) => {
    const server = inMemoryServer(testDetector());
    const [res, next] = await stream(server, [req, batch("ok", [normalEvent()])]);
    expect(res?.requestId).toBe(req.requestId);
    expect(res?.results).toHaveLength(1);
    expect(res?.results[0]?.outcome.value).toMatchObject({ code: "invalid_argument", field });
    expect(next?.results[0]?.outcome.case).toBe("score");
  });

  it("accepts exactly 1000 events and a 128-character request_id", async () => {
    const server = inMemoryServer(testDetector());
    const [res] = await stream(server, [batch("y".repeat(128), routineEvents(1000))]);
    expect(res?.results.filter((r) => r.outcome.case === "score")).toHaveLength(1000);
  });

  it("scores each request with one scoreBatch call", async () => {
    const real = testDetector();
    let batches = 0;
    let singles = 0;
    const counting: Detector = {
      info: real.info,
      threshold: real.threshold,
      score: (e) => {
        singles++;
        return real.score(e);
      },
      scoreBatch: (events, out) => {
        batches++;
        real.scoreBatch(events, out);
      },
      explain: (e, top) => real.explain(e, top),
      scoreAndExplain: (e, top) => {
        singles++;
        return real.scoreAndExplain(e, top);
      },
      withThreshold: (t) => real.withThreshold(t),
    };
    const server = inMemoryServer(counting);
    await stream(server, [batch("1", routineEvents(100)), batch("2", routineEvents(10))]);
    expect(batches).toBe(2);
    expect(singles).toBe(0);
  });

  it("ends with unavailable while no model is loaded", async () => {
    const err = await failure(stream(inMemoryServer(), [batch("1", [normalEvent()])]));
    expect(err.code).toBe(Code.Unavailable);
  });

  it("ends with unavailable once the server starts closing", async () => {
    const server = inMemoryServer(testDetector());
    async function* send() {
      yield batch("1", [normalEvent()]);
      server.closing.abort();
      yield batch("2", [normalEvent()]);
    }
    const got: string[] = [];
    const err = await failure(
      (async () => {
        for await (const res of server.scoring.streamScore(send())) {
          got.push(res.requestId);
        }
      })(),
    );
    expect(err.code).toBe(Code.Unavailable);
    expect(got).toEqual(["1"]);
  });
});

describe("ScoringService.GetModelInfo", () => {
  it("describes the loaded model", async () => {
    const server = inMemoryServer(testDetector());
    const res = await server.scoring.getModelInfo({});
    const info = testDetector().info;
    expect(res.modelVersion).toBe(info.version);
    expect(res.formatVersion).toBe(info.formatVersion);
    expect(res.nEstimators).toBe(50);
    expect(res.maxSamples).toBe(128);
    expect(res.maxDepth).toBe(7);
    expect(res.seed).toBe(7n);
    expect(res.contamination).toBe(0.01);
    expect(res.threshold).toBe(info.threshold);
    expect(res.modelThreshold).toBe(info.threshold);
    expect(res.trainingRows).toBe(600n);
    expect(res.features).toEqual([...info.features]);
    expect(res.dataEndTime && timestampDate(res.dataEndTime).getTime()).toBe(info.dataEndTimeMs);
  });

  it("reports an overridden threshold next to the model's", async () => {
    const res = await inMemoryServer(testDetector().withThreshold(0.7)).scoring.getModelInfo({});
    expect(res.threshold).toBe(0.7);
    expect(res.modelThreshold).toBe(testDetector().info.threshold);
  });

  it("fails with unavailable while no model is loaded", async () => {
    expect((await failure(inMemoryServer().scoring.getModelInfo({}))).code).toBe(Code.Unavailable);
  });
});

describe("logging", () => {
  it("logs one line per unary call with rpc, code and durationMs, and nothing per normal event", async () => {
    const server = inMemoryServer(testDetector());
    await server.scoring.score({ event: normalEvent() });
    expect(server.logs).toHaveLength(1);
    expect(server.logs[0]).toMatchObject({
      level: 30,
      rpc: "netanomaly.v1.ScoringService/Score",
      code: "ok",
      msg: "rpc finished",
    });
    expect(typeof server.logs[0]?.durationMs).toBe("number");
  });

  it("logs an anomaly once, with score, threshold, top features and identifying fields only", async () => {
    const server = inMemoryServer(testDetector());
    await server.scoring.score({ event: anomalousEvent() });
    const lines = anomalyLines(server.logs);
    expect(lines).toHaveLength(1);
    const line = lines[0] as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 40,
      rpc: "netanomaly.v1.ScoringService/Score",
      // Rounded for people; the wire keeps full precision.
      threshold: roundForLog(testDetector().threshold, LOG_SCORE_PLACES),
      modelVersion: testDetector().info.version,
      process: "C:\\Users\\Public\\svch0st.exe",
      parentProcess: "cmd.exe",
      destIp: "203.0.113.77",
      destDomain: "x7q9z.example.net",
      destPort: 4444,
      protocol: "TCP",
    });
    expect(line.topFeatures).toHaveLength(5);
    expect(line).not.toHaveProperty("userContext");
    expect(line).not.toHaveProperty("event");
  });

  it("logs one line per anomalous stream event and one at stream end", async () => {
    const server = inMemoryServer(testDetector());
    const events = [normalEvent(), anomalousEvent(), normalEvent(), anomalousEvent()];
    await stream(server, [batch("r1", events), batch("r2", [normalEvent()])]);
    const lines = anomalyLines(server.logs);
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => l.requestId)).toEqual(["r1", "r1"]);
    const ends = server.logs.filter((l) => l.msg === "rpc finished");
    expect(ends).toEqual([
      expect.objectContaining({ rpc: "netanomaly.v1.ScoringService/StreamScore", code: "ok" }),
    ]);
    expect(server.logs).toHaveLength(3);
  });

  it("logs a stream the client cancels with code canceled", async () => {
    const server = inMemoryServer(testDetector());
    const abort = new AbortController();
    async function* send() {
      yield batch("1", [normalEvent()]);
      await new Promise(() => {}); // an agent that stays connected
    }
    const err = await failure(
      (async () => {
        for await (const _ of server.scoring.streamScore(send(), { signal: abort.signal })) {
          abort.abort();
        }
      })(),
    );
    expect(err.code).toBe(Code.Canceled);
    await expect
      .poll(() => server.logs.filter((l) => l.msg === "rpc finished"))
      .toEqual([
        expect.objectContaining({
          rpc: "netanomaly.v1.ScoringService/StreamScore",
          code: "canceled",
        }),
      ]);
  });

  it("logs the code of a failed call at info without the request", async () => {
    const server = inMemoryServer(testDetector());
    await failure(server.scoring.score({ event: withEvent({ destPort: 70_000 }) }));
    expect(server.logs).toEqual([
      expect.objectContaining({ level: 30, code: "invalid_argument", msg: "rpc finished" }),
    ]);
  });

  it("logs a bug at error under err while the client sees only internal error", async () => {
    // A detector that breaks its contract: the one hand-written Detector, to pin the error mapping.
    const broken: Detector = {
      ...testDetector(),
      info: testDetector().info,
      threshold: 0.5,
      scoreAndExplain() {
        throw new TypeError("forest is corrupt at node 17");
      },
    };
    const server = inMemoryServer(broken);
    const err = await failure(server.scoring.score({ event: normalEvent() }));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).not.toContain("node 17");
    expect(server.logs).toEqual([
      expect.objectContaining({
        level: 50,
        code: "internal",
        err: expect.objectContaining({ message: "forest is corrupt at node 17" }),
      }),
    ]);
  });
});
