import type { Random } from "../detector/index.js";
import { createRandom } from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/** Bounds of a {@link WindowSample}. */
export interface WindowSampleOptions {
  /** Length of one time window, ms (by event time). */
  windowMs: number;
  /** Windows kept; older ones are dropped whole. */
  windows: number;
  /** Largest sample kept per window (a uniform reservoir of its events). */
  perWindow: number;
  /** Seed of the reservoirs' and the decay's random choices. */
  seed: number;
}

/** One window of a {@link WindowSample}. */
export interface WindowSummary {
  /** Window start, ms since the epoch. */
  startMs: number;
  /** Events offered to it. */
  seen: number;
  /** Events it keeps. */
  kept: number;
}

/**
 * A bounded, time-decayed sample of a stream: a uniform reservoir per time
 * window, the last `windows` windows kept. At most `windows × perWindow`
 * events are held, however long or fast the stream.
 */
export interface WindowSample {
  /** Offers an event that happened at `timeMs`; events older than the oldest kept window are dropped. */
  offer(event: NetworkEvent, timeMs: number): void;
  /** Events held now. */
  readonly size: number;
  /** Events offered that were too old for any kept window. */
  readonly late: number;
  /** The kept windows, oldest first. */
  windows(): WindowSummary[];
  /**
   * The training sample: every event of the newest window and, from a window
   * `a` windows older, a random `0.5^(a / halfLifeWindows)` share of its
   * events, so older traffic fades out instead of stopping at a cliff.
   */
  sample(halfLifeWindows: number): NetworkEvent[];
  /** Forgets every window. */
  clear(): void;
}

interface Window {
  startMs: number;
  seen: number;
  kept: NetworkEvent[];
}

/** Creates a {@link WindowSample}; throws RangeError on bounds that are not positive integers. */
export function createWindowSample(options: WindowSampleOptions): WindowSample {
  const { windowMs, windows: maxWindows, perWindow } = options;
  for (const [name, v] of Object.entries({ windowMs, windows: maxWindows, perWindow })) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new RangeError(`window sample ${name} must be a positive integer, got ${v}`);
  }
  const random: Random = createRandom(options.seed);
  /** Kept windows by index (floor(time / windowMs)), oldest first. */
  let windows: Window[] = [];
  let size = 0;
  let late = 0;

  const windowFor = (timeMs: number): Window | undefined => {
    const startMs = Math.floor(timeMs / windowMs) * windowMs;
    const newest = windows.at(-1);
    if (newest === undefined || startMs > newest.startMs) {
      const w: Window = { startMs, seen: 0, kept: [] };
      windows.push(w);
      const oldestKept = startMs - (maxWindows - 1) * windowMs;
      while ((windows[0] as Window).startMs < oldestKept) {
        size -= (windows.shift() as Window).kept.length;
      }
      return w;
    }
    for (let i = windows.length - 1; i >= 0; i--) {
      const w = windows[i] as Window;
      if (w.startMs === startMs) return w;
      if (w.startMs < startMs) {
        // A gap window inside the kept range: insert it in order.
        if (startMs < newest.startMs - (maxWindows - 1) * windowMs) return undefined;
        const fresh: Window = { startMs, seen: 0, kept: [] };
        windows.splice(i + 1, 0, fresh);
        return fresh;
      }
    }
    if (startMs < newest.startMs - (maxWindows - 1) * windowMs) return undefined;
    const fresh: Window = { startMs, seen: 0, kept: [] };
    windows.unshift(fresh);
    return fresh;
  };

  return {
    offer(event, timeMs) {
      const w = windowFor(timeMs);
      if (w === undefined) {
        late++;
        return;
      }
      w.seen++;
      if (w.kept.length < perWindow) {
        w.kept.push(event);
        size++;
        return;
      }
      // Algorithm R: keep with probability perWindow / seen.
      const j = Math.floor(random.next() * w.seen);
      if (j < perWindow) w.kept[j] = event;
    },
    get size() {
      return size;
    },
    get late() {
      return late;
    },
    windows: () => windows.map((w) => ({ startMs: w.startMs, seen: w.seen, kept: w.kept.length })),
    sample(halfLifeWindows) {
      if (!(halfLifeWindows > 0))
        throw new RangeError(`halfLifeWindows must be > 0, got ${halfLifeWindows}`);
      const newest = windows.at(-1);
      if (newest === undefined) return [];
      const out: NetworkEvent[] = [];
      for (const w of windows) {
        const age = (newest.startMs - w.startMs) / windowMs;
        const take = Math.round(w.kept.length * 0.5 ** (age / halfLifeWindows));
        if (take >= w.kept.length) {
          out.push(...w.kept);
          continue;
        }
        // Partial Fisher–Yates on a copy: a uniform subset of `take` events.
        const copy = w.kept.slice();
        for (let i = 0; i < take; i++) {
          const j = i + random.int(copy.length - i);
          const t = copy[i] as NetworkEvent;
          copy[i] = copy[j] as NetworkEvent;
          copy[j] = t;
        }
        out.push(...copy.slice(0, take));
      }
      return out;
    },
    clear() {
      windows = [];
      size = 0;
    },
  };
}
