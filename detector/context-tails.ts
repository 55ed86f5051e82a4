/**
 * Context tails: how far an event lies beyond everything seen in training
 * on a few context-conditional measures, combined with the forest's score.
 *
 * An Isolation Forest picks split features uniformly, so one extreme value
 * among 26 ordinary ones (a browser sending 50 MB to a site it uses every
 * day, a browser started by a word processor) is isolated only by the few
 * trees that happen to split on that feature early: the event scores
 * barely above normal. The measures here are each conditioned on the
 * event's own context (volume against the process × port baseline; the
 * surprise of the parent, user, hour, destination, port and hash given the
 * process; a lookalike of a known domain), and their training maxima are
 * stored in the model. An event beyond a maximum by more than a dead zone
 * has its score raised towards 1:
 *
 *   s' = 1 − (1 − s) · exp(−(x − δ)),  x = max_j (v_j − max_j) / scale_j
 *
 * Every training row has x ≤ 0, so the training scores, and with them the
 * calibrated threshold, are exactly the forest's. This is the per-feature
 * extreme-value idea of ECOD and HBOS, applied only beyond the training
 * range and only to measures that carry their context.
 *
 * @see Li et al. 2022, "ECOD: Unsupervised Outlier Detection Using Empirical
 *   Cumulative Distribution Functions" (per-feature tail probabilities).
 */
import { TELEMETRY_FEATURES } from "./feature-names.js";

/** The measures, in the order `tailValues` writes them. */
export const TAIL_FEATURES = [
  "bytes_sent_vs_baseline",
  "bytes_recv_vs_baseline",
  "parent_given_process",
  "user_given_process",
  "hour_given_process",
  "dest_given_process",
  "port_given_process",
  "hash_given_path",
  "dest_lookalike",
] as const;

/** Per measure: the training maximum and the scale excesses are measured in. */
export type TailStats = [max: number, scale: number][];

/** Value of `dest_lookalike` for a lookalike domain (0 otherwise), in scale units above its training maximum of 0. */
export const LOOKALIKE_VALUE = 3;
/** Smallest scale, in the measures' units (nats of surprise, or baseline standard deviations). */
const MIN_SCALE = 1;
/** Excess (in scales) below which nothing changes: held-out normal traffic edges past the training maxima a little. */
const DEAD_ZONE = 0.5;
/** Excess beyond which the boost grows no more: the score's distance from 1 shrinks at most e^−9.5-fold. */
const MAX_EXCESS = 10;

const at = (name: (typeof TELEMETRY_FEATURES)[number]) => TELEMETRY_FEATURES.indexOf(name);
const SENT_Z = at("bytes_sent_vs_baseline");
const RECV_Z = at("bytes_recv_vs_baseline");
const PROCESS = at("process_rarity");
const PATH = at("process_path_rarity");
const HASH = at("process_hash_rarity");
const PARENT = at("parent_process_rarity");
const USER = at("user_process_rarity");
const HOUR = at("process_hour_rarity");
const DEST = at("process_dest_rarity");
const PORT = at("process_port_rarity");

/**
 * Writes the tail measures of one featurized row. A rarity conditioned on
 * the process is the difference of two rarities:
 * log((N+1)/(n(p,x)+1)) − log((N+1)/(n(p)+1)) = log((n(p)+1)/(n(p,x)+1)),
 * so an unseen process (n(p) = 0) is not surprising in any context here:
 * the forest already isolates it.
 *
 * @param lookalike 1 when the event's domain imitates a known one, else 0.
 */
export function tailValues(
  row: Float64Array,
  offset: number,
  lookalike: number,
  out: Float64Array,
): void {
  const p = row[offset + PROCESS] as number;
  out[0] = row[offset + SENT_Z] as number;
  out[1] = row[offset + RECV_Z] as number;
  out[2] = (row[offset + PARENT] as number) - p;
  out[3] = (row[offset + USER] as number) - p;
  out[4] = (row[offset + HOUR] as number) - p;
  out[5] = (row[offset + DEST] as number) - p;
  out[6] = (row[offset + PORT] as number) - p;
  out[7] = (row[offset + HASH] as number) - (row[offset + PATH] as number);
  out[8] = lookalike * LOOKALIKE_VALUE;
}

/**
 * The training maximum of each measure and its scale, the distance from
 * the median to the maximum (at least `MIN_SCALE`).
 *
 * @param values nRows × TAIL_FEATURES.length measures, row-major.
 */
export function fitTailStats(values: Float64Array, nRows: number): TailStats {
  const k = TAIL_FEATURES.length;
  const stats: TailStats = [];
  const column = new Float64Array(nRows);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < nRows; i++) column[i] = values[i * k + j] as number;
    column.sort();
    const max = nRows > 0 ? (column[nRows - 1] as number) : 0;
    const median = nRows > 0 ? (column[Math.floor(nRows / 2)] as number) : 0;
    stats.push([max, Math.max(MIN_SCALE, max - median)]);
  }
  return stats;
}

/**
 * The largest excess over the training maxima, in scales, and its measure.
 *
 * @returns `{ excess, index }`; `excess ≤ 0` when every measure is within training range.
 */
export function tailExcess(
  values: Float64Array,
  stats: TailStats,
): { excess: number; index: number } {
  let excess = Number.NEGATIVE_INFINITY;
  let index = 0;
  for (let j = 0; j < stats.length; j++) {
    // Indexed, not destructured: `const [max, scale]` runs the array
    // iterator, which allocated on every scored event.
    const stat = stats[j] as [number, number];
    const x = ((values[j] as number) - stat[0]) / stat[1];
    if (x > excess) {
      excess = x;
      index = j;
    }
  }
  return { excess, index };
}

/**
 * Each measure's share of the credit for a boost: its excess past the dead
 * zone over the sum of all such excesses (zero for measures within it).
 */
export function tailShares(values: Float64Array, stats: TailStats, out: Float64Array): void {
  let total = 0;
  for (let j = 0; j < stats.length; j++) {
    const stat = stats[j] as [number, number];
    const x = Math.max(0, ((values[j] as number) - stat[0]) / stat[1] - DEAD_ZONE);
    out[j] = x;
    total += x;
  }
  for (let j = 0; j < stats.length; j++) out[j] = total > 0 ? (out[j] as number) / total : 0;
}

/**
 * Raises a forest score by an excess: unchanged within the dead zone, then
 * towards 1, monotone in both arguments.
 */
export function boostScore(score: number, excess: number): number {
  // Capped so a boosted score stays below 1 and keeps ranking within itself.
  const x = Math.min(excess, MAX_EXCESS) - DEAD_ZONE;
  return x <= 0 ? score : 1 - (1 - score) * Math.exp(-x);
}
