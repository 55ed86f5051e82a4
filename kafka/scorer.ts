import { Consumer, type Message, type MessageToProduce } from "@platformatic/kafka";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { within } from "./bounded.js";
import type { ClientFaults } from "./client-faults.js";
import { decodeRecord, type RecordFormat } from "./codec.js";
import type { ModelHolder } from "./model-holder.js";
import {
  commitBatch,
  type DeliveryStats,
  errorText,
  ProducerSlot,
  produceAll,
  sleep,
} from "./produce.js";
import { waitingRecords } from "./progress.js";
import {
  DEAD_LETTER_HEADERS,
  type InputPosition,
  positionText,
  TOP_CONTRIBUTIONS,
  verdictRecord,
} from "./verdict.js";

/** Options of {@link runScorer}. */
export interface ScorerOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Topic of telemetry records, one event each. */
  input: string;
  /** Topic verdicts go to, keyed like their input. */
  output: string;
  /** Topic malformed and invalid records go to, unchanged, with the reason in headers. */
  deadLetter: string;
  /** Topic anomalous verdicts also go to; none when undefined. */
  alerts?: string | undefined;
  /** Consumer group: copies with the same group share the input's partitions. */
  group: string;
  clientId: string;
  format: RecordFormat;
  models: ModelHolder;
  /** Most records scored, produced and committed as one batch. Default 1,000. */
  maxBatch?: number;
  /** Session timeout of the group membership, ms: how soon a dead copy's partitions move. Default 10,000. */
  sessionTimeoutMs?: number;
  /**
   * How long the scorer waits on the client before it counts the call as
   * stuck: with partitions assigned and the stream flowing, no fetch
   * completing, or no heartbeat answered, for this long ends the session (a
   * fetch whose answer never comes, seen after a broker restart, would
   * otherwise starve the partitions for good); a join, a send, a commit or a
   * close not answering in it is abandoned. Default 30,000.
   */
  stallTimeoutMs?: number;
  /**
   * Faults thrown inside the Kafka client's callbacks (see client-faults.ts):
   * each ends the session in progress, as a stuck call does.
   */
  clientFaults?: ClientFaults | undefined;
  /** Aborting stops after the batch in hand is produced and committed (or abandoned uncommitted). */
  signal: AbortSignal;
  /** Receives notable events: retries, dead-lettered records, commit failures. */
  onLog?: (level: "debug" | "info" | "warn" | "error", message: string) => void;
  /**
   * Logs (at debug) each step of a session and, every 10 s while idle, its
   * state: assignments, fetch and heartbeat ages, queue, paused, uncommitted
   * partitions. For finding out why a scorer has gone quiet.
   */
  trace?: boolean;
}

/** What a scorer did, in records unless named otherwise. */
export interface ScorerStats extends DeliveryStats {
  /** Records taken from the input topic (a redelivered record counts again). */
  consumed: number;
  /** Verdicts acknowledged by the broker. */
  scored: number;
  /** Verdicts with verdict anomalous. */
  anomalies: number;
  /** Records sent to the dead-letter topic. */
  deadLettered: number;
  /** Batches produced and committed. */
  batches: number;
  /** Times the consumer failed for good and the scorer joined the group again. */
  sessionRestarts: number;
  /**
   * Sessions ended because no fetch or no heartbeat answered for
   * `stallTimeoutMs` (counted in sessionRestarts too).
   */
  stalls: number;
  /** Consumers whose close did not answer in `stallTimeoutMs` and were left behind. */
  abandonedConsumers: number;
  /** Exceptions thrown inside the Kafka client's callbacks (each ended a session). */
  clientFaults: number;
}

/** Dead-letter lines shown per run before they are only counted. */
const SHOWN_DEAD_LETTERS = 20;

/**
 * Scores an input topic as one member of a consumer group, at least once:
 *
 * 1. take up to `maxBatch` records as they arrive (offsets are not auto-committed);
 * 2. decode and validate each; score the good ones with one detector snapshot;
 * 3. produce every verdict (and dead letter, and alert) with acks=all, retrying
 *    the whole batch until the broker acknowledges all of it;
 * 4. only then commit, per partition, the offset after the batch's last record.
 *
 * A crash between 3 and 4 means those records are scored again by whoever
 * owns the partition next: a duplicate verdict with the same `input` position,
 * never a missing one. Resolves with the counts when `signal` aborts; rejects
 * when the consumer cannot join the group.
 */
export async function runScorer(options: ScorerOptions): Promise<ScorerStats> {
  const log = options.onLog ?? (() => {});
  const stats: ScorerStats = {
    consumed: 0,
    scored: 0,
    anomalies: 0,
    deadLettered: 0,
    batches: 0,
    produceRetries: 0,
    producerRestarts: 0,
    commitFailures: 0,
    sessionRestarts: 0,
    stalls: 0,
    abandonedConsumers: 0,
    clientFaults: 0,
  };
  const { signal } = options;
  const base = {
    clientId: options.clientId,
    bootstrapBrokers: options.brokers,
    retries: 10,
    retryDelay: 500,
  };
  const stallMs = options.stallTimeoutMs ?? 30_000;
  const trace = (m: string) => {
    if (options.trace === true) log("debug", m);
  };
  const producers = new ProducerSlot(base, stallMs);
  let endSession: ((e: Error) => void) | undefined;
  const unsubscribe = options.clientFaults?.subscribe((e) => {
    stats.clientFaults++;
    endSession?.(new Error(`the Kafka client failed inside a callback: ${e.message}`));
  });
  try {
    // A session is one group membership; it ends when the consumer fails for
    // good (the broker gone longer than its retries). Its uncommitted records
    // are then scored again by whoever gets the partitions: duplicates, not loss.
    for (let failures = 0; !signal.aborted; ) {
      const consumer = new Consumer({
        ...base,
        groupId: options.group,
        sessionTimeout: options.sessionTimeoutMs ?? 10_000,
        rebalanceTimeout: options.sessionTimeoutMs ?? 10_000,
        heartbeatInterval: 1_000,
        maxWaitTime: 200,
      });
      // The client emits 'error' when it cannot rejoin after a failed
      // heartbeat (a broker restart, or a close during the rejoin): unheard,
      // that would kill the process. The session listens too, and ends.
      consumer.on("error", (e: Error) => log("warn", `consumer error: ${errorText(e)}`));
      try {
        await session(
          consumer,
          producers,
          options,
          stats,
          () => {
            failures = 0;
          },
          (end) => {
            endSession = end;
          },
        );
      } catch (e) {
        if (signal.aborted) break;
        failures++;
        stats.sessionRestarts++;
        const delay = Math.min(5_000, 250 * 2 ** Math.min(failures, 5));
        log("warn", `consumer failed (${errorText(e)}); joining the group again in ${delay} ms`);
        await sleep(delay, signal);
      } finally {
        trace("closing the consumer");
        // A close can wait behind a group join that never ends; the consumer
        // is then left behind (its membership expires with its session).
        const closed = new Promise<void>((resolve) => consumer.close(true, () => resolve()));
        await within(closed, stallMs, "closing the consumer").catch((e: unknown) => {
          stats.abandonedConsumers++;
          log("warn", `${errorText(e)}; leaving it behind`);
        });
        trace("consumer closed");
      }
    }
  } finally {
    endSession = undefined;
    unsubscribe?.();
    await producers.close();
  }
  return stats;
}

/** One group membership: consume, score, produce, commit until `signal` aborts or the stream fails. */
async function session(
  consumer: Consumer,
  producers: ProducerSlot,
  options: ScorerOptions,
  stats: ScorerStats,
  onProgress: () => void,
  /** Receives the function that ends this session with an error. */
  exposeEnd: (end: ((e: Error) => void) | undefined) => void,
): Promise<void> {
  const { signal } = options;
  const log = options.onLog ?? (() => {});
  const maxBatch = options.maxBatch ?? 1_000;
  const queue: Message[] = [];
  // Per partition, the last record whose offset commit failed (see commitBatch).
  const uncommitted = new Map<number, Message>();
  let wake: (() => void) | undefined;
  let streamError: Error | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  signal.addEventListener("abort", poke, { once: true });
  let failJoin: ((e: Error) => void) | undefined;
  exposeEnd((e) => {
    streamError ??= e;
    failJoin?.(e);
    poke();
  });
  const scores = new Float64Array(maxBatch);
  const stallMs = options.stallTimeoutMs ?? 30_000;
  let joinTimer: NodeJS.Timeout | undefined;
  let stream: Awaited<ReturnType<typeof consumer.consume>> | undefined;
  let lastRecordMs = Date.now();
  try {
    // Joining (group join, sync, offsets) is bounded too: a join that never
    // completes would otherwise leave this copy silent and its share unread.
    const joined = consumer.consume({
      topics: [options.input],
      mode: "committed",
      fallbackMode: "earliest",
      autocommit: false,
      highWaterMark: maxBatch,
      // A fetch is pushed whole whatever the stream's buffer holds. After a
      // rebalance the stream starts every partition again at its committed
      // offset, so what was fetched and not yet committed is scored twice:
      // keeping fetches near a batch keeps those duplicates few.
      maxBytes: 1_048_576,
    });
    // Given up on, it may still fail later: that must not go unheard.
    joined.catch(() => {});
    // A join waits up to the rebalance timeout for the other members to rejoin.
    const joinMs = Math.max(stallMs, 2 * (options.sessionTimeoutMs ?? 10_000));
    if (options.trace === true) log("debug", "joining the group");
    const live = await Promise.race([
      joined,
      new Promise<never>((_, reject) => {
        joinTimer = setTimeout(
          () => reject(new Error(`joining the group took over ${joinMs / 1000} s`)),
          joinMs,
        );
      }),
      new Promise<never>((_, reject) => {
        failJoin = reject;
      }),
    ]);
    failJoin = undefined;
    stream = live;
    lastRecordMs = Date.now();
    clearTimeout(joinTimer);
    if (options.trace === true) log("debug", `joined as ${consumer.memberId}`);
    live.on("data", (m: Message) => {
      lastRecordMs = Date.now();
      queue.push(m);
      if (queue.length >= maxBatch) live.pause();
      poke();
    });
    live.on("error", (e: Error) => {
      streamError = e;
      poke();
    });
    consumer.on("error", (e: Error) => {
      streamError ??= e;
      poke();
    });
    // A flowing stream fetches without pause (each fetch waits at most
    // maxWaitTime), so silence with partitions assigned is a stuck fetch.
    let lastFetchMs = Date.now();
    live.on("fetch", () => {
      lastFetchMs = Date.now();
    });
    const assigned = () => (consumer.assignments ?? []).some((a) => a.partitions.length > 0);
    // A member heartbeats every second whether or not it has partitions; a
    // heartbeat that keeps failing, or a rejoin that never ends, leaves the
    // membership dead with nothing else to show for it.
    const joinedAtMs = Date.now();
    let tracedAtMs = joinedAtMs;
    let lagCheckedMs = joinedAtMs;
    while (!signal.aborted) {
      if (options.trace === true && Date.now() - tracedAtMs >= 10_000) {
        tracedAtMs = Date.now();
        const parts = (consumer.assignments ?? []).flatMap((a) => a.partitions);
        log(
          "debug",
          `state: partitions [${parts.join(",")}], last fetch ${Date.now() - lastFetchMs} ms ago, last heartbeat ${
            consumer.lastHeartbeat === null
              ? "none"
              : `${Date.now() - consumer.lastHeartbeat.getTime()} ms ago`
          }, queue ${queue.length}, paused ${live.isPaused()}, uncommitted [${[...uncommitted.keys()].join(",")}]`,
        );
      }
      if (streamError !== undefined) throw streamError;
      const heartbeatMs = Date.now() - (consumer.lastHeartbeat?.getTime() ?? joinedAtMs);
      if (heartbeatMs > stallMs) {
        stats.stalls++;
        throw new Error(
          `no heartbeat answered in ${Math.round(heartbeatMs / 1000)} s: the membership is lost`,
        );
      }
      if (queue.length === 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, Math.min(stallMs, 5_000));
        });
        clearTimeout(timer);
        wake = undefined;
        if (queue.length === 0 && uncommitted.size > 0 && !signal.aborted) {
          // Only partitions still ours: another owner may have committed past them.
          const mine = new Set(
            (consumer.assignments ?? [])
              .filter((a) => a.topic === options.input)
              .flatMap((a) => a.partitions),
          );
          for (const p of uncommitted.keys()) if (!mine.has(p)) uncommitted.delete(p);
          await commitBatch([...uncommitted.values()], stallMs, stats, log, uncommitted);
        }
        const silentMs = Date.now() - lastFetchMs;
        if (queue.length === 0 && !live.isPaused() && assigned() && silentMs > stallMs) {
          stats.stalls++;
          throw new Error(
            `no fetch answered in ${Math.round(silentMs / 1000)} s: the consumer is stuck`,
          );
        }
        if (!assigned()) lastFetchMs = Date.now();
        // Fetches answered and nothing delivered: ask the broker whether
        // records wait in our partitions (see progress.ts).
        const now = Date.now();
        if (
          queue.length === 0 &&
          uncommitted.size === 0 &&
          !live.isPaused() &&
          assigned() &&
          now - lastRecordMs > stallMs &&
          now - lagCheckedMs > stallMs
        ) {
          lagCheckedMs = now;
          const mine = (consumer.assignments ?? [])
            .filter((a) => a.topic === options.input)
            .flatMap((a) => a.partitions);
          const waiting = await waitingRecords(consumer, options.input, mine, stallMs).catch(
            () => new Map<number, bigint>(), // the broker unreachable: the other watchdogs act
          );
          if (waiting.size > 0 && queue.length === 0 && Date.now() - lastRecordMs > stallMs) {
            stats.stalls++;
            const total = [...waiting.values()].reduce((a, b) => a + b, 0n);
            throw new Error(
              `${total} records wait in partitions [${[...waiting.keys()].join(",")}] and none arrived in ${Math.round((Date.now() - lastRecordMs) / 1000)} s: the stream is stuck`,
            );
          }
        }
        continue;
      }
      const batch = queue.splice(0, maxBatch);
      if (live.isPaused()) live.resume();
      stats.consumed += batch.length;
      const detector = options.models.current();
      const out: MessageToProduce[] = [];
      const valid: NetworkEvent[] = [];
      const validAt: number[] = [];
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i] as Message;
        const decoded = decodeRecord(m.value, options.format);
        if (decoded.ok) {
          valid.push(decoded.event);
          validAt.push(i);
          continue;
        }
        const at = positionOf(m);
        if (stats.deadLettered++ < SHOWN_DEAD_LETTERS)
          log(
            "warn",
            `dead letter ${positionText(at)} (${decoded.field || "record"}): ${decoded.reason}`,
          );
        out.push({
          topic: options.deadLetter,
          ...(m.key === undefined ? {} : { key: m.key }),
          ...(m.value === undefined ? {} : { value: m.value }),
          headers: new Map([
            [Buffer.from(DEAD_LETTER_HEADERS.reason), Buffer.from(decoded.reason)],
            [Buffer.from(DEAD_LETTER_HEADERS.field), Buffer.from(decoded.field)],
            [Buffer.from(DEAD_LETTER_HEADERS.input), Buffer.from(positionText(at))],
          ]),
        });
      }
      if (valid.length > 0) detector.scoreBatch(valid, scores);
      let anomalies = 0;
      for (let j = 0; j < valid.length; j++) {
        const m = batch[validAt[j] as number] as Message;
        const event = valid[j] as NetworkEvent;
        const v = verdictRecord(positionOf(m), scores[j] as number, detector, () =>
          detector.explain(event, TOP_CONTRIBUTIONS),
        );
        const value = Buffer.from(JSON.stringify(v));
        const key = m.key === undefined ? {} : { key: m.key };
        out.push({ topic: options.output, ...key, value });
        if (v.verdict === "VERDICT_ANOMALOUS") {
          anomalies++;
          if (options.alerts !== undefined) out.push({ topic: options.alerts, ...key, value });
        }
      }
      if (!(await produceAll(producers, out, signal, stats, log))) return;
      stats.scored += valid.length;
      stats.anomalies += anomalies;
      await commitBatch(batch, stallMs, stats, log, uncommitted);
      stats.batches++;
      onProgress();
    }
  } finally {
    exposeEnd(undefined);
    clearTimeout(joinTimer);
    signal.removeEventListener("abort", poke);
    // Ended here, so the consumer's close does not wait on the stream (its
    // last fetch may never answer): what it fetched and did not commit is
    // scored again by whoever owns the partitions next.
    stream?.destroy();
  }
}

function positionOf(m: Message): InputPosition {
  return { topic: m.topic, partition: m.partition, offset: m.offset.toString() };
}
