import { readFileSync } from "node:fs";
import { toJsonString } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import type { EventResult } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { NetworkEventSchema, Verdict } from "../gen/netanomaly/v1/telemetry_pb.js";
import { type SourceOptions, type SourceProblem, sourceNamed } from "../sources/index.js";
import { createGrpcChannel } from "./grpc-channel.js";
import { KafkaSink } from "./kafka-sink.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { formatAnomaly } from "./report.js";
import { connectScoreChannel, type ScoreChannel } from "./score-channel.js";
import { type PendingEvent, type RetryInfo, ROOM, StreamClient } from "./stream-client.js";

/** Options of `runAgent`; the CLI flags map onto them one to one. */
export interface AgentOptions {
  /** Server base URL. Default `http://127.0.0.1:50051`. */
  target?: string;
  /**
   * Events per second; 0 sends as fast as the server acknowledges. Default
   * 1,000 for the simulator; 0 for files and live sources, which pace themselves.
   */
  rate?: number;
  /** Stop after this many events. */
  count?: number;
  /** Stop generating after this many seconds. */
  durationS?: number;
  /** Share of simulated events that are attacks, in [0, 1]. Default 0.02. */
  anomalyRate?: number;
  /** Replay this CSV instead of simulating (the same as source `csv` with this input). */
  replay?: string;
  /** Source name from the registry (`sources/registry.ts`). Default `sim`. */
  source?: string;
  /** Options for the source: input file, follow, listen address, interval, dns file. */
  sourceOptions?: SourceOptions;
  /** Write each event as one JSON line through `onPrint` (or stdout) before sending it. */
  print?: boolean;
  /** Send events to the server. Default true; false with `print` makes a dry run. */
  send?: boolean;
  /** Receives `--print`'s lines (no newline). Default: stdout. */
  onPrint?: (line: string) => void;
  /** Events per request, 1 to 1000. Default: 1 up to 200 events/s, more above (100 at rate 0). */
  batch?: number;
  /** Simulator seed. Default 1. */
  seed?: number;
  /** Simulated clock start, ms since the epoch. Default 2024-12-16T00:00Z (the evaluation week). */
  startMs?: number;
  /** Sent as `authorization: Bearer <key>` when set. */
  apiKey?: string;
  /**
   * PEM files for an `https://` target: `ca` to verify the server (default:
   * the system's CAs), `cert` and `key` for a client certificate (mTLS).
   */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Most requests in flight. Default 16. */
  window?: number;
  /** How long to wait for outstanding acknowledgements at the end, ms. Default 5,000 (60,000 to Kafka). */
  drainTimeoutMs?: number;
  /** Backoff of reconnections, ms (see `StreamClientOptions`). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  maxAttempts?: number;
  /** Aborting stops generation; the agent then drains and returns its summary. */
  signal?: AbortSignal;
  /** Receives one line per anomalous event (no newline). Default: none. */
  onAnomaly?: (line: string) => void;
  /** Receives warnings: skipped input, source notices, reconnections. Default: none. */
  onWarning?: (line: string) => void;
  /**
   * A Connect transport to call through instead of the agent's own gRPC
   * client to `target` (tests that intercept calls use it).
   */
  transport?: Transport;
  /** Publish to Kafka instead of streaming to the server (`--sink kafka`); nothing is scored here. */
  kafka?: { brokers: string[]; topic: string };
}

/** Counts for one attack scenario. */
export interface ScenarioCounts {
  injected: number;
  caught: number;
}

/** What a run did. Event counts unless named otherwise. */
export interface Summary {
  /** Events handed to the stream (each counted once, however often resent). */
  sent: number;
  /** Events the server scored. */
  scored: number;
  /** Events the server rejected (an EventError result, or a request rejected whole). */
  errors: number;
  /** Events sent and never acknowledged when the agent stopped. */
  lost: number;
  /** Events in responses for an already acknowledged request. */
  duplicates: number;
  /** Events sent again on a new stream after a failure. */
  resent: number;
  /** New streams opened after failures. */
  reconnects: number;
  /** Scored events with verdict anomalous. */
  anomalies: number;
  /** Events sent that belong to an attack (label other than normal). */
  attacks_injected: number;
  /** Attack events the server flagged anomalous. */
  attacks_caught: number;
  /** Normal-labelled events flagged anomalous. */
  false_positives: number;
  per_scenario: Record<string, ScenarioCounts>;
  /** Acknowledged events per second of wall time. */
  events_per_s: number;
  /** Enqueue-to-response latency of acknowledged events. */
  latency_ms: { p50: number; p99: number };
  /** Events the source produced (sent, or printed in a dry run). */
  collected: number;
  /** Where events went: `server` (scored there), `kafka` (published; scored by the Kafka scorers), or `none` (dry run). */
  sink: "server" | "kafka" | "none";
  /** Input the source skipped as malformed (lines, rows, packets), in all. */
  skipped_rows: number;
  /** Skipped input by what was wrong (the message's first words), for the summary. */
  skipped_by_reason: Record<string, number>;
  duration_s: number;
  /** The error that stopped the agent early, if any. */
  fatal?: string;
}

/** Default batch: 1 at low rates so each event goes out at once, larger when it pays. */
function defaultBatch(rate: number): number {
  if (rate === 0) return 100;
  return Math.max(1, Math.min(100, Math.floor(rate / 200)));
}

/**
 * Runs the agent: generates or replays events, streams them to the scoring
 * service at the requested rate and reports what came back. Never exits the
 * process; resolves with the summary when the count, duration or replay is
 * done, `signal` aborts, or the stream gives up.
 */
export async function runAgent(options: AgentOptions = {}): Promise<Summary> {
  const sourceName = options.replay !== undefined ? "csv" : (options.source ?? "sim");
  const spec = sourceNamed(sourceName);
  if (spec === undefined) throw new Error(`no telemetry source named ${sourceName}`);
  const rate = options.rate ?? (spec.kind === "generated" ? DEFAULT_SIM_RATE : 0);
  const target = options.target ?? "http://127.0.0.1:50051";
  const send = options.send ?? true;
  const warn = options.onWarning ?? (() => {});
  let skippedCount = 0;
  const skippedByReason: Record<string, number> = {};
  // The first problems of each kind are shown; the rest are only counted.
  const onSkip = (p: SourceProblem) => {
    skippedCount++;
    const reason = reasonOf(p.message);
    const seen = (skippedByReason[reason] ?? 0) + 1;
    skippedByReason[reason] = seen;
    if (seen <= SHOWN_PER_REASON) warn(`skipped ${p.where}: ${p.message}`);
    else if (seen === SHOWN_PER_REASON + 1)
      warn(`more skipped input like "${reason}" is only counted (see the summary)`);
  };
  const print = options.print
    ? (options.onPrint ?? ((l: string) => process.stdout.write(`${l}\n`)))
    : undefined;

  const tls = options.tls;
  // Made only when the agent sends to the server (a Kafka sink or a dry run opens no connection).
  const channel = (): ScoreChannel =>
    options.transport !== undefined
      ? connectScoreChannel(options.transport)
      : createGrpcChannel({
          target,
          ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
          // A peer that accepts and never answers is noticed: HTTP/2 PINGs every
          // 10 s, and no answer within 5 s closes the connection and its streams,
          // which the stream client retries (issue 23, item 9).
          pingIntervalMs: 10_000,
          pingTimeoutMs: 5_000,
          ...(tls === undefined
            ? {}
            : {
                tls: {
                  ...(tls.ca === undefined ? {} : { ca: readFileSync(tls.ca) }),
                  ...(tls.cert === undefined ? {} : { cert: readFileSync(tls.cert) }),
                  ...(tls.key === undefined ? {} : { key: readFileSync(tls.key) }),
                },
              }),
        });
  const latency = new LatencyHistogram();
  const summary: Summary = {
    sent: 0,
    scored: 0,
    errors: 0,
    lost: 0,
    duplicates: 0,
    resent: 0,
    reconnects: 0,
    anomalies: 0,
    attacks_injected: 0,
    attacks_caught: 0,
    false_positives: 0,
    per_scenario: {},
    events_per_s: 0,
    latency_ms: { p50: 0, p99: 0 },
    collected: 0,
    sink: !send ? "none" : options.kafka !== undefined ? "kafka" : "server",
    skipped_rows: 0,
    skipped_by_reason: {},
    duration_s: 0,
  };
  const scenario = (label: string) => {
    let c = summary.per_scenario[label];
    if (c === undefined) {
      c = { injected: 0, caught: 0 };
      summary.per_scenario[label] = c;
    }
    return c;
  };
  const onResult = (item: PendingEvent<string | undefined>, result: EventResult) => {
    latency.record(performance.now() - item.enqueuedAt);
    if (result.outcome.case !== "score") {
      summary.errors++;
      return;
    }
    summary.scored++;
    const score = result.outcome.value;
    if (score.verdict !== Verdict.ANOMALOUS) return;
    summary.anomalies++;
    const label = item.meta;
    if (label !== undefined && label !== "normal") {
      summary.attacks_caught++;
      scenario(label).caught++;
    } else if (label === "normal") {
      summary.false_positives++;
    }
    options.onAnomaly?.(formatAnomaly(item.event, score, label));
  };
  const client = !send
    ? undefined
    : options.kafka !== undefined
      ? new KafkaSink<string | undefined>({
          ...options.kafka,
          ...(options.batch !== undefined ? { batchSize: options.batch } : {}),
          ...(options.backoffBaseMs !== undefined ? { backoffBaseMs: options.backoffBaseMs } : {}),
          ...(options.backoffMaxMs !== undefined ? { backoffMaxMs: options.backoffMaxMs } : {}),
          ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
          onRetry: (r) =>
            warn(
              `kafka produce failed (${r.error.message}); retry ${r.attempt} in ${Math.round(r.delayMs)} ms`,
            ),
        })
      : new StreamClient<string | undefined>({
          channel: channel(),
          batchSize: options.batch ?? defaultBatch(rate),
          window: options.window ?? 16,
          ...(options.backoffBaseMs !== undefined ? { backoffBaseMs: options.backoffBaseMs } : {}),
          ...(options.backoffMaxMs !== undefined ? { backoffMaxMs: options.backoffMaxMs } : {}),
          ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
          onResult,
          onRetry: (r: RetryInfo) =>
            warn(
              `stream failed (${r.error.message}); retry ${r.attempt} in ${Math.round(r.delayMs)} ms`,
            ),
        });

  // One signal for every reason to stop generating: the caller's, or the duration.
  const stop = new AbortController();
  const onCallerAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onCallerAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const durationTimer =
    options.durationS !== undefined
      ? setTimeout(() => stop.abort(), options.durationS * 1000)
      : undefined;

  const sourceOptions: SourceOptions = {
    seed: options.seed ?? 1,
    anomalyRate: options.anomalyRate ?? 0.02,
    ...(options.startMs !== undefined ? { startMs: options.startMs } : {}),
    ...options.sourceOptions,
    ...(options.replay !== undefined ? { input: options.replay } : {}),
    // Sent to the server and not printed: a source may give each event as its encoding alone.
    encoded: client instanceof StreamClient && print === undefined,
  };
  const start = performance.now();
  let n = 0;
  try {
    const source = spec.open(sourceOptions, {
      signal: stop.signal,
      onSkip,
      onNotice: (message) => warn(`${sourceName}: ${message}`),
    });
    for await (const item of source) {
      const label = item.label;
      if (stop.signal.aborted || (options.count !== undefined && n >= options.count)) break;
      if (rate > 0) {
        const wait = start + (n * 1000) / rate - performance.now();
        if (wait >= 1) await sleep(wait, stop.signal);
        if (stop.signal.aborted) break;
      }
      if (label !== undefined && label !== "normal") {
        summary.attacks_injected++;
        scenario(label).injected++;
      }
      n++;
      print?.(toJsonString(NetworkEventSchema, item.event));
      if (client) {
        const room =
          client instanceof StreamClient
            ? client.enqueue(item.encoded ?? item.event, label, stop.signal)
            : client.enqueue(item.event, label, stop.signal);
        if (room !== ROOM) await room;
      }
    }
  } catch (err) {
    if (!stop.signal.aborted && client?.fatal === undefined) {
      summary.fatal = err instanceof Error ? err.message : String(err);
    }
  } finally {
    clearTimeout(durationTimer);
    options.signal?.removeEventListener("abort", onCallerAbort);
    // Ends a live source's listeners and child processes however the loop ended.
    stop.abort();
  }
  summary.collected = n;
  summary.skipped_rows = skippedCount;
  summary.skipped_by_reason = skippedByReason;
  const elapsedS = (performance.now() - start) / 1000;
  summary.duration_s = round(elapsedS, 3);
  if (client === undefined) {
    summary.events_per_s = round(elapsedS > 0 ? n / elapsedS : 0, 1);
    return summary;
  }
  // A broker restart takes longer than a server's: the Kafka sink waits up to 60 s.
  const stats = await client.finish(options.drainTimeoutMs ?? (options.kafka ? 60_000 : 5_000));
  summary.sent = stats.sent;
  summary.duplicates = stats.duplicates;
  summary.resent = stats.resent;
  summary.reconnects = stats.reconnects;
  summary.lost = client.unacknowledged;
  summary.events_per_s = round(elapsedS > 0 ? stats.acknowledged / elapsedS : 0, 1);
  summary.latency_ms = {
    p50: round(latency.quantile(0.5), 3),
    p99: round(latency.quantile(0.99), 3),
  };
  if (client.fatal !== undefined) summary.fatal = client.fatal.message;
  return summary;
}

/** The simulator's default pace: 5,000 events take 5 s. */
const DEFAULT_SIM_RATE = 1000;
/** Skipped-input lines shown per kind of problem before the rest are only counted. */
const SHOWN_PER_REASON = 5;

/** A problem's kind: its message without numbers and quoted values, for counting. */
function reasonOf(message: string): string {
  return message
    .replace(/ \(.*$/, "")
    .replace(/"[^"]*"/g, "…")
    .replace(/\d+/g, "N")
    .slice(0, 60);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
