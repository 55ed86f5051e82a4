/** A record held back until its join partner arrives, or until it has waited long enough. */
interface Waiting<T> {
  value: T;
  /** Input line the record was read on. */
  since: number;
}

/** Options of `JoinWait`. */
export interface JoinWaitOptions {
  /** Lines of input a record waits for its partner before it goes on without it. */
  maxLines: number;
  /** Records held at once; a new one past this sends the oldest on without its partner. */
  maxPending: number;
}

/**
 * Records waiting for a join partner that has not been read yet (a flow
 * logged before its DNS transaction, a connection before its process's
 * creation), by join key. The wait is bounded in lines of input, not in
 * time, so a replay reads the same way at any speed; and in records held,
 * so memory stays bounded. A record whose wait ran out is returned by
 * `expired` and goes on without its partner (the caller counts it).
 */
export class JoinWait<K, T> {
  readonly #waiting = new Map<K, Waiting<T>[]>();
  readonly #order: { key: K; since: number }[] = [];
  #head = 0;
  #size = 0;
  readonly #options: JoinWaitOptions;

  constructor(options: JoinWaitOptions) {
    this.#options = options;
  }

  /** Records held now. */
  get size(): number {
    return this.#size;
  }

  /** Holds `value` under `key`, read on input line `line`. @returns records pushed out to make room. */
  hold(key: K, value: T, line: number): T[] {
    const list = this.#waiting.get(key);
    if (list) list.push({ value, since: line });
    else this.#waiting.set(key, [{ value, since: line }]);
    this.#order.push({ key, since: line });
    this.#size++;
    const out: T[] = [];
    while (this.#size > this.#options.maxPending) {
      const oldest = this.#popOldest();
      if (oldest === undefined) break;
      out.push(oldest);
    }
    return out;
  }

  /** Takes every record waiting under `key` (its partner arrived). */
  take(key: K): T[] {
    const list = this.#waiting.get(key);
    if (!list) return [];
    this.#waiting.delete(key);
    this.#size -= list.length;
    return list.map((w) => w.value);
  }

  /** Takes the records that have waited `maxLines` or more by input line `line`. */
  expired(line: number): T[] {
    const out: T[] = [];
    for (;;) {
      this.#skipTaken();
      const first = this.#order[this.#head];
      if (first === undefined || line - first.since < this.#options.maxLines) break;
      const got = this.#popOldest();
      if (got !== undefined) out.push(got);
    }
    this.#compact();
    return out;
  }

  /** Takes every record still waiting, oldest first (end of input). */
  drain(): T[] {
    const out: T[] = [];
    for (;;) {
      if (this.#head >= this.#order.length) break;
      const got = this.#popOldest();
      if (got !== undefined) out.push(got);
    }
    this.#compact();
    return out;
  }

  /** Advances past order entries whose record `take` already took. */
  #skipTaken(): void {
    for (;;) {
      const first = this.#order[this.#head];
      if (first === undefined) return;
      const list = this.#waiting.get(first.key);
      if (list && list.length > 0 && (list[0] as Waiting<T>).since === first.since) return;
      this.#head++;
    }
  }

  /** Removes the oldest record still waiting. */
  #popOldest(): T | undefined {
    this.#skipTaken();
    const first = this.#order[this.#head];
    if (first === undefined) return undefined;
    this.#head++;
    const list = this.#waiting.get(first.key) as Waiting<T>[];
    const w = list.shift() as Waiting<T>;
    if (list.length === 0) this.#waiting.delete(first.key);
    this.#size--;
    return w.value;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
