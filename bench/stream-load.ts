/**
 * A lean StreamScore load generator for the benchmark: raw HTTP/2 with gRPC
 * framing and request bodies encoded once up front, so the client spends its
 * core on the wire and the measurement is the server's. Runs in its own
 * process (the server has the other core):
 *
 *   node --import tsx bench/stream-load.ts --url http://127.0.0.1:P --streams 4 --batch 100 \
 *     [--rate EVENTS_PER_S] [--window 16] [--seconds 5] [--warmup 1]
 *
 * `--rate 0` (default) is closed-loop: each stream keeps `window` requests in
 * flight. A positive rate is open-loop: requests leave on schedule and
 * latency counts from the scheduled time, so a slow server cannot hide its
 * queueing. Prints one JSON object (`StreamLoadResult`).
 */
import { connect } from "node:http2";
import { parseArgs } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  StreamScoreRequestSchema,
  StreamScoreResponseSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createSimulator } from "../telemetry/simulator.js";
import { grpcFrame } from "./grpc-frame.js";
import { dueAtMs, dueCount } from "./open-loop.js";

/** What one load run measured. */
export interface StreamLoadResult {
  streams: number;
  batch: number;
  /** Requested rate, events/s; 0 = as fast as acknowledged. */
  rate: number;
  /** Acknowledged events per second after the warm-up. */
  eventsPerSecond: number;
  /** Per-event latency, ms: request sent (or scheduled) to its response. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  scored: number;
  errors: number;
  seconds: number;
}

/** Distinct pre-encoded batches cycled through. */
const DISTINCT_BATCHES = 32;

/** Encoded `events` fields of DISTINCT_BATCHES simulator batches (2% attacks). */
function encodedBatches(batch: number): Uint8Array[] {
  const sim = createSimulator({ seed: 3, anomalyRate: 0.02 });
  const out: Uint8Array[] = [];
  for (let b = 0; b < DISTINCT_BATCHES; b++) {
    const events = Array.from({ length: batch }, () => sim.next().event);
    out.push(toBinary(StreamScoreRequestSchema, create(StreamScoreRequestSchema, { events })));
  }
  return out;
}

/** Weighted percentile of (latency, count) samples. */
function percentile(sorted: Float64Array, counts: Float64Array, total: number, q: number): number {
  let seen = 0;
  const target = q * total;
  for (let i = 0; i < sorted.length; i++) {
    seen += counts[i] as number;
    if (seen >= target) return sorted[i] as number;
  }
  return sorted[sorted.length - 1] ?? Number.NaN;
}

/** Runs the load; see the file comment for the options. */
export async function runStreamLoad(o: {
  url: string;
  streams: number;
  batch: number;
  rate: number;
  window: number;
  seconds: number;
  warmup: number;
}): Promise<StreamLoadResult> {
  const bodies = encodedBatches(o.batch);
  const session = connect(o.url);
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  const start = performance.now();
  const measureFrom = start + o.warmup * 1000;
  const end = measureFrom + o.seconds * 1000;
  const latencies: number[] = [];
  const weights: number[] = [];
  let scored = 0;
  let errors = 0;
  let next = 0;
  const perStreamRate = o.rate / o.streams / o.batch; // requests per second

  const runStream = (s: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": "/netanomaly.v1.ScoringService/StreamScore",
        "content-type": "application/grpc",
        te: "trailers",
      });
      const sentAt = new Map<string, number>();
      let seq = 0;
      let inFlight = 0;
      let done = false;
      const send = (at: number) => {
        const id = `${s}-${seq++}`;
        const body = bodies[next++ % DISTINCT_BATCHES] as Uint8Array;
        const head = toBinary(
          StreamScoreRequestSchema,
          create(StreamScoreRequestSchema, { requestId: id }),
        );
        const msg = new Uint8Array(head.length + body.length);
        msg.set(head);
        msg.set(body, head.length); // two encodings concatenated merge into one message
        sentAt.set(id, at);
        inFlight++;
        req.write(grpcFrame(msg));
      };
      let buffered: Buffer = Buffer.alloc(0);
      req.on("data", (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        while (buffered.length >= 5) {
          const len = buffered.readUInt32BE(1);
          if (buffered.length < 5 + len) break;
          const res = fromBinary(StreamScoreResponseSchema, buffered.subarray(5, 5 + len));
          buffered = buffered.subarray(5 + len);
          const now = performance.now();
          const t0 = sentAt.get(res.requestId);
          sentAt.delete(res.requestId);
          inFlight--;
          if (t0 !== undefined && t0 >= measureFrom && now <= end) {
            let bad = 0;
            for (const r of res.results) if (r.outcome.case !== "score") bad++;
            scored += res.results.length - bad;
            errors += bad;
            latencies.push(now - t0);
            weights.push(res.results.length);
          }
          if (o.rate === 0 && !done) send(performance.now());
        }
        if (done && inFlight === 0) req.end();
      });
      req.on("error", reject);
      req.on("close", () => resolve());
      if (o.rate === 0) {
        for (let i = 0; i < o.window; i++) send(performance.now());
        setTimeout(() => {
          done = true;
          if (inFlight === 0) req.end();
        }, end - performance.now());
      } else {
        let sent = 0;
        const tick = setInterval(() => {
          const now = performance.now();
          const due = dueCount(now - start, perStreamRate);
          while (sent < due) {
            send(start + dueAtMs(sent, perStreamRate)); // latency from the scheduled time
            sent++;
          }
          if (now >= end) {
            clearInterval(tick);
            done = true;
            if (inFlight === 0) req.end();
          }
        }, 1);
      }
    });

  await Promise.all(Array.from({ length: o.streams }, (_, s) => runStream(s)));
  session.close();
  const order = latencies
    .map((_, i) => i)
    .sort((a, b) => (latencies[a] as number) - (latencies[b] as number));
  const sorted = Float64Array.from(order, (i) => latencies[i] as number);
  const counts = Float64Array.from(order, (i) => weights[i] as number);
  const total = counts.reduce((a, b) => a + b, 0);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    streams: o.streams,
    batch: o.batch,
    rate: o.rate,
    eventsPerSecond: Math.round(scored / o.seconds),
    latencyMs: {
      p50: round(percentile(sorted, counts, total, 0.5)),
      p90: round(percentile(sorted, counts, total, 0.9)),
      p99: round(percentile(sorted, counts, total, 0.99)),
      max: round(sorted[sorted.length - 1] ?? Number.NaN),
    },
    scored,
    errors,
    seconds: o.seconds,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      streams: { type: "string", default: "1" },
      batch: { type: "string", default: "100" },
      rate: { type: "string", default: "0" },
      window: { type: "string", default: "16" },
      seconds: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
    },
  });
  if (!values.url) throw new Error("--url is required");
  const result = await runStreamLoad({
    url: values.url,
    streams: Number(values.streams),
    batch: Number(values.batch),
    rate: Number(values.rate),
    window: Number(values.window),
    seconds: Number(values.seconds),
    warmup: Number(values.warmup),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`stream-load: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
