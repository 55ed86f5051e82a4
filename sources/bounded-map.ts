/**
 * A map that holds at most `capacity` entries: setting a new key when full
 * drops the entry set longest ago (insertion order, refreshed on `set`). The
 * readers keep join state in these so memory stays bounded however long the
 * log is: a partner evicted before it was used is a partner that never
 * arrived.
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();
  readonly #capacity: number;
  /** Entries dropped to make room, over the map's life. */
  evicted = 0;

  /** @param capacity most entries held, at least 1. */
  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Sets `key`, moving it to the young end; drops the oldest entry when full. */
  set(key: K, value: V): void {
    if (this.#map.has(key)) this.#map.delete(key);
    else if (this.#map.size >= this.#capacity) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) {
        this.#map.delete(oldest.value);
        this.evicted++;
      }
    }
    this.#map.set(key, value);
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }
}
