import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type EventResult,
  EventResultSchema,
  type StreamScoreRequest,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { EventsEncoder, eventAt, type OutgoingEvent } from "./event-encoder.js";
import { decodeEventResult } from "./event-result-decoder.js";
import type { ScoreChannel, ScoreStreamCall } from "./score-channel.js";
import type { StreamScoreResponseView } from "./stream-score-view.js";

/** One event waiting for its score, with the caller's data attached. */
export interface PendingEvent<M> {
  event: NetworkEvent;
  meta: M;
  /** `performance.now()` when the event was enqueued. */
  enqueuedAt: number;
}

/** A retry the client is about to make, for logging (and for tests to act on). */
export interface RetryInfo {
  /** Consecutive failed attempts so far, from 1. */
  attempt: number;
  code: Code;
  error: ConnectError;
  delayMs: number;
}

/** Options of `StreamClient`. */
export interface StreamClientOptions<M> {
  /**
   * Where calls are opened: `createGrpcChannel` (the agent's own gRPC
   * client), or `connectScoreChannel` over a Connect transport.
   */
  channel: ScoreChannel;
  /** Events per request, 1 to 1000. Default 1. */
  batchSize?: number;
  /** A partial batch is sent after this many ms. Default 5. */
  flushMs?: number;
  /** Most requests in flight (sent, not yet acknowledged). Default 64. */
  window?: number;
  /** First backoff cap, ms. Default 50. */
  backoffBaseMs?: number;
  /** Largest backoff cap, ms. Default 5,000. */
  backoffMaxMs?: number;
  /** Consecutive failed attempts before giving up. Default unlimited. */
  maxAttempts?: number;
  /**
   * A stream with requests in flight and no response for this long is
   * abandoned with `deadline_exceeded` and a new one opened, as any failed
   * stream (and it counts towards `maxAttempts`): a peer that accepted the
   * connection and went silent is noticed. Default 15,000 ms; 0 disables.
   */
  responseTimeoutMs?: number;
  /**
   * After `finish` aborts the stream, how long to wait for the transport to
   * let go before returning anyway, ms. Default 1,000.
   */
  abandonAfterMs?: number;
  /** Uniform [0, 1) source for the backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Called once per event when its response arrives. */
  onResult: (item: PendingEvent<M>, result: EventResult) => void;
  /** Called before each reconnection's backoff sleep. */
  onRetry?: (info: RetryInfo) => void | Promise<void>;
}

/** What the stream client did, in events unless named otherwise. */
export interface StreamStats {
  /** Events put into requests. */
  sent: number;
  /**
   * Events the transport took again on a new stream after a failure (a
   * stream that failed before taking a request does not count).
   */
  resent: number;
  /** Events whose response arrived. */
  acknowledged: number;
  /** Events in responses for a request already acknowledged. */
  duplicates: number;
  /** Events of requests the server rejected whole (invalid_argument) and we dropped. */
  rejected: number;
  /** Streams that ended in an error. */
  streamErrors: number;
  /** New streams opened after a failure. */
  reconnects: number;
}

/**
 * Codes worth a new stream: the server or network may recover
 * (`Canceled` is only ever ours, at shutdown).
 */
const RETRYABLE = new Set<Code>([
  Code.Unavailable,
  Code.Internal,
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Aborted,
  Code.ResourceExhausted,
]);

/**
 * What `enqueue` returns when there is room at once: a caller that sees it
 * may go on without awaiting it (an await would cost a turn of the
 * microtask queue per event).
 */
export const ROOM: Promise<void> = Promise.resolve();

/**
 * A request in flight. Its events are kept as the bytes sent, not as the
 * objects enqueued: those die young instead of surviving every garbage
 * collection while the request waits for its answer (which made
 * collection about a quarter of the agent's work), and the few that are
 * looked at again (an anomaly's details) are decoded from the bytes.
 */
interface InFlight<M> {
  id: string;
  /** Events in the request. */
  count: number;
  metas: M[];
  enqueuedAt: Float64Array;
  request: StreamScoreRequest;
  /** The events' encoding and where each ends (`EventsEncoder.encode`), when pre-encoded. */
  data: Uint8Array | undefined;
  ends: Uint32Array;
  /** Taken by a stream's transport at least once: taking it again is a resend. */
  taken: boolean;
}

/** Event `i` of a request in flight, handed to `onResult`; `event` is decoded when read. */
class SentEvent<M> implements PendingEvent<M> {
  private decoded: NetworkEvent | undefined;
  readonly meta: M;
  readonly enqueuedAt: number;
  constructor(
    private readonly request: InFlight<M>,
    private readonly index: number,
  ) {
    this.meta = request.metas[index] as M;
    this.enqueuedAt = request.enqueuedAt[index] as number;
  }

  get event(): NetworkEvent {
    if (this.decoded === undefined) {
      const { request: r, index } = this;
      this.decoded =
        r.data === undefined
          ? (r.request.events[index] as NetworkEvent)
          : eventAt(r.data, r.ends, index);
    }
    return this.decoded;
  }
}

/**
 * Streams events to `ScoringService.StreamScore` at least once.
 *
 * Events are batched into requests with increasing numeric ids. A request
 * stays in flight until its response arrives; at most `window` are in
 * flight, and `enqueue` waits for room (backpressure). When the stream fails
 * with a retryable code, the client opens a new one after an exponential
 * backoff with full jitter and resends every unacknowledged request in
 * order, so nothing is lost (a `canceled` we did not cause is the peer
 * resetting the stream, and is retried too); the server may then score an event twice, and a
 * response for an already acknowledged id is counted as a duplicate, never
 * reported twice. A stream failing with `invalid_argument` means the oldest
 * unacknowledged request was rejected whole: it is dropped (retrying won't
 * help) and the others are resent. Any other code is fatal.
 */
export class StreamClient<M> {
  readonly stats: StreamStats = {
    sent: 0,
    resent: 0,
    acknowledged: 0,
    duplicates: 0,
    rejected: 0,
    streamErrors: 0,
    reconnects: 0,
  };
  private readonly opts: Required<Omit<StreamClientOptions<M>, "onRetry">> &
    Pick<StreamClientOptions<M>, "onRetry">;
  // The batch being filled, as parallel lists rather than an object per event.
  private batchEvents: OutgoingEvent[] = [];
  private batchMetas: M[] = [];
  private batchAt: Float64Array;
  private readonly inFlight = new Map<string, InFlight<M>>();
  private nextId = 1;
  private readonly encoder = new EventsEncoder();
  /** The call open now, if any. */
  private call: ScoreStreamCall | undefined;
  private timer: NodeJS.Timeout | undefined;
  private roomWaiters: (() => void)[] = [];
  private closing = false;
  private fatalError: ConnectError | undefined;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;
  /** `performance.now()` of the last sign of life: a response, a new stream, or work after idle. */
  private lastProgress = performance.now();

  constructor(options: StreamClientOptions<M>) {
    this.opts = {
      batchSize: 1,
      flushMs: 5,
      window: 64,
      backoffBaseMs: 50,
      backoffMaxMs: 5_000,
      maxAttempts: Number.POSITIVE_INFINITY,
      responseTimeoutMs: 15_000,
      abandonAfterMs: 1_000,
      random: Math.random,
      ...options,
    };
    const { batchSize, window } = this.opts;
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 1000)) {
      throw new RangeError(`batchSize must be an integer in [1, 1000], got ${batchSize}`);
    }
    if (!(Number.isInteger(window) && window >= 1)) {
      throw new RangeError(`window must be a positive integer, got ${window}`);
    }
    this.batchAt = new Float64Array(batchSize);
    this.loop = this.run();
  }

  /** The error that stopped the client, if any. */
  get fatal(): ConnectError | undefined {
    return this.fatalError;
  }

  /** Events sent and not acknowledged (lost if the client stops now). */
  get unacknowledged(): number {
    let n = 0;
    for (const r of this.inFlight.values()) n += r.count;
    return n;
  }

  /**
   * Adds an event (the object, or its encoding) to the current batch.
   * Resolves once there is room for more; rejects with the fatal error if
   * the client has given up, or with `signal.reason` if the signal aborts
   * while waiting.
   */
  enqueue(event: OutgoingEvent, meta: M, signal?: AbortSignal): Promise<void> {
    if (this.fatalError) return Promise.reject(this.fatalError);
    if (this.closing) return Promise.reject(new Error("enqueue after finish"));
    this.batchAt[this.batchEvents.length] = performance.now();
    this.batchEvents.push(event);
    this.batchMetas.push(meta);
    if (this.batchEvents.length >= this.opts.batchSize) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.opts.flushMs);
    }
    // The common case, room in the window: no promise made per event.
    if (this.inFlight.size < this.opts.window && !this.fatalError) return ROOM;
    return this.waitForRoom(signal);
  }

  private async waitForRoom(signal?: AbortSignal): Promise<void> {
    while (this.inFlight.size >= this.opts.window && !this.fatalError) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal?.addEventListener("abort", onAbort, { once: true });
        this.roomWaiters.push(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
      });
    }
    if (this.fatalError) throw this.fatalError;
  }

  /**
   * Sends the last partial batch and waits up to `timeoutMs` for every
   * acknowledgement, then closes the stream. Never throws; check `fatal`.
   */
  async finish(timeoutMs: number): Promise<StreamStats> {
    this.closing = true;
    this.flush();
    this.closeIfDrained();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([this.loop, timedOut]);
    clearTimeout(timer);
    this.abort.abort();
    // A transport stuck on a silent peer may not notice the abort: the
    // summary does not wait for it longer than abandonAfterMs.
    const abandon = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.opts.abandonAfterMs);
    });
    await Promise.race([this.loop, abandon]);
    clearTimeout(timer);
    this.opts.channel.close();
    return this.stats;
  }

  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batchEvents.length === 0 || this.fatalError) return;
    const events = this.batchEvents;
    const metas = this.batchMetas;
    const count = events.length;
    const enqueuedAt = this.batchAt.slice(0, count);
    this.batchEvents = [];
    this.batchMetas = [];
    const id = String(this.nextId++);
    // Encoded here once, by hand: the transport writes the bytes as they are.
    const ends = new Uint32Array(count);
    const request = this.encoder.request(id, events, ends);
    const data = request.events.length === 0 ? request.$unknown?.[0]?.data : undefined;
    const inFlight: InFlight<M> = {
      id,
      count,
      metas,
      enqueuedAt,
      request,
      data: data ?? undefined,
      ends,
      taken: false,
    };
    if (this.inFlight.size === 0) this.lastProgress = performance.now();
    this.inFlight.set(id, inFlight);
    this.stats.sent += count;
    this.call?.send(request);
  }

  private closeIfDrained(): void {
    if (this.closing && this.batchEvents.length === 0 && this.inFlight.size === 0) this.call?.end();
  }

  private wakeWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  private handle(res: StreamScoreResponseView): void {
    const inFlight = this.inFlight.get(res.requestId);
    if (inFlight === undefined) {
      const n = Number(res.requestId);
      // An id we issued and no longer hold was acknowledged before.
      if (Number.isInteger(n) && n >= 1 && n < this.nextId)
        this.stats.duplicates += res.results.length;
      return;
    }
    // Decoded before anything is reported: a result that cannot be read
    // fails the stream with this request still in flight, as a response
    // protobuf-es could not parse did.
    const results: EventResult[] = new Array(res.results.length);
    for (let i = 0; i < results.length; i++) {
      results[i] = decodeEventResult(res.results[i] as Uint8Array);
    }
    this.inFlight.delete(res.requestId);
    this.lastProgress = performance.now();
    for (let i = 0; i < inFlight.count; i++) {
      const result =
        results[i] ??
        create(EventResultSchema, {
          outcome: {
            case: "error",
            value: {
              code: "internal",
              message: "response has no result for this event",
              field: "",
            },
          },
        });
      this.opts.onResult(new SentEvent(inFlight, i), result);
    }
    this.stats.acknowledged += inFlight.count;
    this.wakeWaiters();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let error: ConnectError;
      // This stream alone: aborted by finish (through `signal`) or by the response deadline.
      const attemptAbort = new AbortController();
      const attemptSignal = AbortSignal.any([signal, attemptAbort.signal]);
      this.lastProgress = performance.now();
      const watchdog = this.watch(attemptAbort);
      let call: ScoreStreamCall | undefined;
      try {
        call = this.opts.channel.open(
          {
            onResponse: (res) => {
              attempt = 0;
              this.handle(res);
              this.closeIfDrained();
            },
            onTake: (request) => {
              const r = this.inFlight.get(request.requestId);
              if (r === undefined) return;
              if (r.taken) this.stats.resent += r.count;
              r.taken = true;
            },
          },
          attemptSignal,
        );
        this.call = call;
        for (const r of this.inFlight.values()) call.send(r.request);
        this.closeIfDrained();
        await call.done;
        if (this.closing && this.inFlight.size === 0) return;
        // The server ended the stream while we still had work: open another.
        error = new ConnectError("stream ended by the server", Code.Unavailable);
      } catch (e) {
        error =
          attemptAbort.signal.aborted && !signal.aborted
            ? (attemptAbort.signal.reason as ConnectError)
            : ConnectError.from(e);
      } finally {
        clearInterval(watchdog);
        this.call = undefined;
        call?.end();
      }
      if (signal.aborted) return;
      this.stats.streamErrors++;
      attempt++;
      if (error.code === Code.InvalidArgument) {
        // Responses come in request order: the oldest unacknowledged request is the bad one.
        const oldest = this.inFlight.values().next().value;
        if (oldest !== undefined) {
          this.inFlight.delete(oldest.id);
          this.stats.rejected += oldest.count;
          const result = create(EventResultSchema, {
            outcome: {
              case: "error",
              value: { code: "invalid_argument", message: error.rawMessage, field: "" },
            },
          });
          for (let i = 0; i < oldest.count; i++) {
            this.opts.onResult(new SentEvent(oldest, i), result);
          }
          this.wakeWaiters();
        }
      } else if (!RETRYABLE.has(error.code) && error.code !== Code.Canceled) {
        // Canceled here is not ours (we return above when we abort): the peer
        // reset the stream (HTTP/2 RST_STREAM CANCEL, e.g. a server dropping
        // its sessions), which a new stream can get past.
        this.fail(error);
        return;
      }
      if (attempt > this.opts.maxAttempts) {
        this.fail(error);
        return;
      }
      const cap = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** (attempt - 1));
      const delayMs = this.opts.random() * cap;
      await this.opts.onRetry?.({ attempt, code: error.code, error, delayMs });
      await sleep(delayMs, signal);
      this.stats.reconnects++;
    }
  }

  /** Aborts `attempt` once requests have waited `responseTimeoutMs` without any response. */
  private watch(attempt: AbortController): NodeJS.Timeout | undefined {
    const timeoutMs = this.opts.responseTimeoutMs;
    if (!(timeoutMs > 0)) return undefined;
    const timer = setInterval(
      () => {
        if (this.inFlight.size === 0 || attempt.signal.aborted) return;
        const silentMs = performance.now() - this.lastProgress;
        if (silentMs >= timeoutMs) {
          attempt.abort(
            new ConnectError(
              `no response from the server for ${Math.round(silentMs)} ms with ${this.inFlight.size} requests in flight`,
              Code.DeadlineExceeded,
            ),
          );
        }
      },
      Math.max(10, Math.min(1_000, timeoutMs / 4)),
    );
    timer.unref();
    return timer;
  }

  private fail(error: ConnectError): void {
    this.fatalError = error;
    this.wakeWaiters();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
