import { toJsonString } from "@bufbuild/protobuf";
import { type MessageToProduce, ProduceAcks, Producer } from "@platformatic/kafka";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import type { PendingEvent, StreamStats } from "./stream-client.js";

/** Options of {@link KafkaSink}. */
export interface KafkaSinkOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Topic the events go to, one per record. */
  topic: string;
  clientId?: string;
  /** Events per produce request, 1 to 10,000. Default 1,000. */
  batchSize?: number;
  /** A partial batch is sent after this many ms. Default 5. */
  flushMs?: number;
  /** First backoff cap, ms. Default 100. */
  backoffBaseMs?: number;
  /** Largest backoff cap, ms. Default 5,000. */
  backoffMaxMs?: number;
  /** Consecutive failed produce attempts before giving up. Default unlimited. */
  maxAttempts?: number;
  /** Called before each retry's backoff sleep. */
  onRetry?: (info: { attempt: number; error: Error; delayMs: number }) => void;
}

/**
 * Publishes events to a Kafka topic instead of the scoring service, with the
 * agent's at-least-once guarantee: an event counts as delivered only when the
 * broker acknowledged its record with acks=all (every in-sync replica has it).
 * The record's key is the event's source host (`source_ip`), so all events of
 * one host land in one partition; its value is the event in the proto JSON
 * mapping (what `--print` writes, what `npm run consume -- --format json` reads).
 *
 * One produce request is in flight at a time and a failed one is sent again
 * whole before anything after it, so per-host order holds; a request that
 * failed after the broker wrote part of it leaves duplicates (in order), never
 * a gap. Same surface as `StreamClient` where `runAgent` uses it.
 */
export class KafkaSink<M> {
  private readonly producer: Producer;
  private readonly batchSize: number;
  private filling: PendingEvent<M>[] = [];
  private inFlight = 0;
  private closing = false;
  private giveUp = false;
  private fatalError: Error | undefined;
  private wakeSender: (() => void) | undefined;
  private roomWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushDue = false;
  private readonly loop: Promise<void>;
  private readonly stats: StreamStats = {
    sent: 0,
    resent: 0,
    acknowledged: 0,
    duplicates: 0,
    rejected: 0,
    streamErrors: 0,
    reconnects: 0,
  };

  constructor(private readonly opts: KafkaSinkOptions) {
    this.batchSize = opts.batchSize ?? 1_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10_000) {
      throw new RangeError(`batchSize must be an integer in [1, 10000], got ${this.batchSize}`);
    }
    this.producer = new Producer({
      clientId: opts.clientId ?? `netanomaly-agent-${process.pid}`,
      bootstrapBrokers: opts.brokers,
      acks: ProduceAcks.ALL,
      autocreateTopics: true,
      retries: 2,
      retryDelay: 250,
    });
    this.loop = this.run();
  }

  /** The error that stopped the sink, if any. */
  get fatal(): Error | undefined {
    return this.fatalError;
  }

  /** Events taken and not acknowledged (lost if the sink stops now). */
  get unacknowledged(): number {
    return this.inFlight + this.filling.length;
  }

  /**
   * Adds an event to the batch being filled. Resolves once there is room for
   * more (a full batch waits for the one in flight); rejects with the fatal
   * error once the sink has given up.
   */
  async enqueue(event: NetworkEvent, meta: M, signal?: AbortSignal): Promise<void> {
    if (this.fatalError) throw this.fatalError;
    if (this.closing) throw new Error("enqueue after finish");
    this.filling.push({ event, meta, enqueuedAt: performance.now() });
    if (this.filling.length >= this.batchSize) this.wake();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flushDue = true;
        this.wake();
      }, this.opts.flushMs ?? 5);
    }
    while (this.filling.length >= this.batchSize && !this.fatalError && !signal?.aborted) {
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
   * Sends what is left and waits up to `timeoutMs` for its acknowledgement,
   * then closes the producer. Never throws; check `fatal` and `unacknowledged`.
   */
  async finish(timeoutMs: number): Promise<StreamStats> {
    this.closing = true;
    this.flushDue = true;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.loop,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    clearTimeout(this.timer);
    this.giveUp = true;
    this.wake();
    await new Promise<void>((resolve) => this.producer.close(true, () => resolve()));
    return { ...this.stats };
  }

  private wake(): void {
    const w = this.wakeSender;
    this.wakeSender = undefined;
    w?.();
  }

  private releaseRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  /** The sender: one produce request at a time, each retried until acknowledged. */
  private async run(): Promise<void> {
    for (;;) {
      const ready =
        this.filling.length >= this.batchSize || (this.flushDue && this.filling.length > 0);
      if (!ready) {
        if (this.closing || this.giveUp) return;
        await new Promise<void>((resolve) => {
          this.wakeSender = resolve;
        });
        continue;
      }
      this.flushDue = false;
      const batch = this.filling.splice(0, this.batchSize);
      this.inFlight = batch.length;
      this.releaseRoom();
      const messages: MessageToProduce[] = batch.map(({ event }) => ({
        topic: this.opts.topic,
        key: Buffer.from(event.sourceIp),
        value: Buffer.from(toJsonString(NetworkEventSchema, event)),
      }));
      this.stats.sent += batch.length;
      if (!(await this.sendUntilAcknowledged(messages))) return;
      this.inFlight = 0;
      this.stats.acknowledged += batch.length;
      if (this.filling.length > 0 && this.timer === undefined) this.flushDue = true;
    }
  }

  /** @returns false when the sink gave up (maxAttempts, or finish's timeout). */
  private async sendUntilAcknowledged(messages: MessageToProduce[]): Promise<boolean> {
    const base = this.opts.backoffBaseMs ?? 100;
    const max = this.opts.backoffMaxMs ?? 5_000;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.producer.send({ messages });
        return true;
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        this.stats.streamErrors++;
        if (this.giveUp) return false;
        if (this.opts.maxAttempts !== undefined && attempt > this.opts.maxAttempts) {
          this.fatalError = new Error(`kafka: gave up after ${attempt} attempts: ${error.message}`);
          this.releaseRoom();
          return false;
        }
        const delayMs = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
        this.opts.onRetry?.({ attempt, error, delayMs });
        await new Promise((r) => setTimeout(r, delayMs));
        if (this.giveUp) return false;
        this.stats.reconnects++;
        this.stats.resent += messages.length;
      }
    }
  }
}
