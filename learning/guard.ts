import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import type { BenignPatterns } from "./benign-patterns.js";
import { patternOf } from "./pattern.js";

/** Settings of the {@link Guard}. */
export interface GuardOptions {
  /** Distinct source hosts a pattern must be flagged from before it is learnable (K). Default 3. */
  minHosts?: number;
  /** Time between a pattern's first and latest flagged event before it is learnable (T), ms. Default 30 min. */
  minSpanMs?: number;
  /** Flagged events admitted per pattern per rate window. Default 50. */
  maxPerPattern?: number;
  /** Flagged events admitted in all per rate window. Default 500. */
  maxTotal?: number;
  /** The rate window, ms. Default 1 h. */
  rateWindowMs?: number;
  /** Patterns tracked at most; the least recently flagged is forgotten past it. Default 20 000. */
  maxPatterns?: number;
  /** Patterns a person marked benign: admitted at once, rate limits aside. */
  benign?: BenignPatterns | undefined;
}

/** Counters of a {@link Guard}, for GetModelInfo and logs. */
export interface GuardStats {
  /** Flagged events seen, admitted, and admitted for a benign mark. */
  flagged: number;
  admitted: number;
  admittedBenign: number;
  /** Patterns tracked now. */
  patterns: number;
}

/**
 * Decides which flagged events may enter the training sample, so a patient
 * attacker cannot teach the model that the attack is normal, while a
 * fleet-wide rollout becomes normal within a retrain or two.
 */
export interface Guard {
  /**
   * Records a flagged event seen at `timeMs` and says whether it may be
   * learned: its pattern (process × destination) is marked benign, or it has
   * been flagged from at least `minHosts` hosts over at least `minSpanMs`
   * and neither the pattern's nor the overall admission budget of the
   * current rate window is spent.
   */
  admit(event: NetworkEvent, timeMs: number): boolean;
  stats(): GuardStats;
}

interface PatternState {
  hosts: Set<string>;
  firstMs: number;
  lastMs: number;
  window: number;
  admitted: number;
}

/** Resolved defaults of {@link GuardOptions}. */
export const GUARD_DEFAULTS = {
  minHosts: 3,
  minSpanMs: 30 * 60_000,
  maxPerPattern: 50,
  maxTotal: 500,
  rateWindowMs: 60 * 60_000,
  maxPatterns: 20_000,
} as const;

/** Creates a {@link Guard}. */
export function createGuard(options: GuardOptions = {}): Guard {
  const o = { ...GUARD_DEFAULTS, ...stripUndefined(options) };
  const patterns = new Map<string, PatternState>();
  let totalWindow = -1;
  let totalAdmitted = 0;
  const stats = { flagged: 0, admitted: 0, admittedBenign: 0 };

  return {
    admit(event, timeMs) {
      stats.flagged++;
      if (options.benign?.matches(event) === true) {
        stats.admitted++;
        stats.admittedBenign++;
        return true;
      }
      const key = patternOf(event);
      let p = patterns.get(key);
      const window = Math.floor(timeMs / o.rateWindowMs);
      if (p === undefined) {
        p = { hosts: new Set(), firstMs: timeMs, lastMs: timeMs, window, admitted: 0 };
        if (patterns.size >= o.maxPatterns) {
          // Map order is recency order (every hit re-inserts): drop the stalest.
          patterns.delete(patterns.keys().next().value as string);
        }
      } else {
        patterns.delete(key);
      }
      patterns.set(key, p);
      // Only up to K hosts need remembering: the set stays small.
      if (p.hosts.size < o.minHosts) p.hosts.add(event.sourceIp);
      p.firstMs = Math.min(p.firstMs, timeMs);
      p.lastMs = Math.max(p.lastMs, timeMs);
      if (p.hosts.size < o.minHosts || p.lastMs - p.firstMs < o.minSpanMs) return false;
      if (p.window !== window) {
        p.window = window;
        p.admitted = 0;
      }
      if (totalWindow !== window) {
        totalWindow = window;
        totalAdmitted = 0;
      }
      if (p.admitted >= o.maxPerPattern || totalAdmitted >= o.maxTotal) return false;
      p.admitted++;
      totalAdmitted++;
      stats.admitted++;
      return true;
    },
    stats: () => ({ ...stats, patterns: patterns.size }),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
