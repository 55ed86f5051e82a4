import { type Message, type MessageToProduce, ProduceAcks, Producer } from "@platformatic/kafka";
import { TimeoutError, within } from "./bounded.js";

/** The counters {@link produceAll} and {@link commitBatch} keep. */
export interface DeliveryStats {
  /** Produce attempts that failed and were made again (the same batch). */
  produceRetries: number;
  /** Producers closed and replaced because a send never answered. */
  producerRestarts: number;
  /** Offset commits the broker refused or left unanswered (the records will be scored again). */
  commitFailures: number;
}

type Log = (level: "warn", message: string) => void;

/** Connection settings of the producer, as `new Producer()` takes them. */
export interface ProducerSettings {
  clientId: string;
  bootstrapBrokers: string[];
  retries: number;
  retryDelay: number;
}

/**
 * The scorer's one producer (acks=all), replaced by a fresh one when a send
 * never answers: a producer whose connection died under a queued request
 * can stay wedged, and a new one reconnects from the bootstrap brokers.
 */
export class ProducerSlot {
  #current: Producer;

  constructor(
    private readonly settings: ProducerSettings,
    /** Longest a close or a send is waited for. */
    readonly timeoutMs: number,
  ) {
    this.#current = this.#make();
  }

  get current(): Producer {
    return this.#current;
  }

  /** Closes the current producer (waiting at most `timeoutMs`) and starts another. */
  async replace(): Promise<void> {
    const old = this.#current;
    this.#current = this.#make();
    await closeProducer(old, this.timeoutMs);
  }

  /** Closes the current producer, waiting at most `timeoutMs`. */
  close(): Promise<void> {
    return closeProducer(this.#current, this.timeoutMs);
  }

  #make(): Producer {
    return new Producer({ ...this.settings, acks: ProduceAcks.ALL, autocreateTopics: true });
  }
}

function closeProducer(p: Producer, ms: number): Promise<void> {
  const closed = new Promise<void>((resolve) => p.close(true, () => resolve()));
  return within(closed, ms, "closing the producer").catch(() => {});
}

/**
 * Sends `messages` until the broker acknowledges all of them (acks=all),
 * backing off up to 2 s between attempts. A failed attempt may have written
 * part of the batch; the retry writes it again (duplicates, in order). A
 * send that does not answer in the slot's timeout counts as failed, and the
 * producer is replaced before the next attempt.
 *
 * @returns false when `signal` aborted before an acknowledgement.
 */
export async function produceAll(
  producers: ProducerSlot,
  messages: MessageToProduce[],
  signal: AbortSignal,
  stats: DeliveryStats,
  log: Log,
): Promise<boolean> {
  if (messages.length === 0) return true;
  for (let attempt = 0; ; attempt++) {
    try {
      await within(
        producers.current.send({ messages }),
        producers.timeoutMs,
        `producing ${messages.length} records`,
      );
      return true;
    } catch (e) {
      if (signal.aborted) return false;
      stats.produceRetries++;
      const delay = Math.min(2_000, 100 * 2 ** attempt);
      if (e instanceof TimeoutError) {
        stats.producerRestarts++;
        log("warn", `${e.message}; a new producer tries again in ${delay} ms`);
        await producers.replace();
      } else {
        log(
          "warn",
          `produce of ${messages.length} records failed (${errorText(e)}); retry in ${delay} ms`,
        );
      }
      await sleep(delay, signal);
      if (signal.aborted) return false;
    }
  }
}

/**
 * Commits, per partition, the offset after the batch's last record of it,
 * waiting at most `timeoutMs` for the broker. `uncommitted` holds, per
 * partition, the last record whose commit failed: a later commit of the
 * partition covers it and removes it; the scorer commits what is left again
 * when it has nothing else to do (with no later records, nothing else would,
 * and the group's lag would stay above zero until the next rebalance scored
 * them again).
 */
export async function commitBatch(
  batch: Message[],
  timeoutMs: number,
  stats: DeliveryStats,
  log: Log,
  uncommitted: Map<number, Message>,
): Promise<void> {
  const last = new Map<number, Message>();
  for (const m of batch) {
    const prev = last.get(m.partition);
    if (prev === undefined || prev.offset < m.offset) last.set(m.partition, m);
  }
  const tried = [...last.values()];
  const results = await Promise.allSettled(
    tried.map((m) =>
      within(
        new Promise<void>((resolve, reject) => m.commit((e) => (e ? reject(e) : resolve()))),
        timeoutMs,
        `committing partition ${m.partition}`,
      ),
    ),
  );
  results.forEach((r, i) => {
    const m = tried[i] as Message;
    const pending = uncommitted.get(m.partition);
    if (r.status === "fulfilled") {
      if (pending !== undefined && pending.offset <= m.offset) uncommitted.delete(m.partition);
      return;
    }
    stats.commitFailures++;
    if (pending === undefined || pending.offset < m.offset) uncommitted.set(m.partition, m);
    log(
      "warn",
      `offset commit of partition ${m.partition} failed (${errorText(r.reason)}); it is tried again with the next batch or when idle`,
    );
  });
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** An error's message, with the first inner error's when the client wraps several. */
export function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const inner = (e as { errors?: unknown[] }).errors;
  const first = Array.isArray(inner) && inner[0] instanceof Error ? `: ${inner[0].message}` : "";
  return `${e.message}${first}`;
}
