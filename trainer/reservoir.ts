import type { Random } from "../detector/index.js";

/** A fixed-size uniform sample of a stream of unknown length. */
export interface Reservoir<T> {
  /** Items offered so far. */
  readonly seen: number;
  /** Offers one item; it is kept with probability capacity / seen. */
  offer(item: T): void;
  /** The sample: every item, in stream order, while seen ≤ capacity. */
  items(): T[];
}

/**
 * Creates a reservoir sampler (Vitter's algorithm R): memory is bounded by
 * `capacity`, not by the length of the stream, and every item has the same
 * chance to be in the sample.
 *
 * @param capacity largest sample size, ≥ 1.
 * @param random seeded generator: the same stream and seed give the same sample.
 */
export function createReservoir<T>(capacity: number, random: Random): Reservoir<T> {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`reservoir capacity must be a positive integer, got ${capacity}`);
  }
  const kept: T[] = [];
  let seen = 0;
  return {
    get seen() {
      return seen;
    },
    offer(item: T): void {
      seen++;
      if (kept.length < capacity) {
        kept.push(item);
        return;
      }
      // Two 32-bit draws: uniform enough for streams past 2^32 items.
      const u = random.next() + random.next() / 2 ** 32;
      const j = Math.floor(u * seen);
      if (j < capacity) kept[j] = item;
    },
    items: () => kept.slice(),
  };
}
