/**
 * Whether a process has had the chance to be seen at an hour: which
 * buckets of the day its training history covers.
 *
 * `process_hour_rarity` is a joint rarity of (process, three-hour bucket),
 * so a bucket a process was never seen in gets the table's maximum. That
 * is evidence when the process's history passed through that bucket (a
 * backup job seen every night for a week, never at noon), but not when it
 * did not: an application rolled out at midnight and learned from the
 * stream at 05:00 has not had the chance to be seen at noon yet.
 *
 * The trainer records, per process, the buckets of the day that the time
 * from its first to its last timestamped sighting passes through, as a
 * bit mask (bit b for hours 3b to 3b + 2), when that misses a bucket the
 * whole training window passes through. A history of a day or more passes
 * through all eight and is not recorded. At scoring time an unseen bucket
 * outside the process's mask takes the rarity of the process's usual
 * bucket, as an event without a timestamp does; one inside it keeps the
 * maximum. So every process seen over a whole day (all processes of a
 * typical week of training data) keeps exactly the rarities it had, and a
 * process unseen in training still gets the maximum everywhere.
 */

/** Seconds in one hour bucket of `process_hour_rarity`. */
export const BUCKET_SECONDS = 3 * 3600;

/** Hour buckets in a day. */
export const DAY_BUCKETS = 8;

/** The mask of every bucket of the day. */
export const ALL_BUCKETS = (1 << DAY_BUCKETS) - 1;

/**
 * Timestamped training rows a process needs before its mask counts. One or
 * two sightings are a one-off, not a history whose span means something (a
 * single sighting has none): such a process keeps the maximum at every
 * unseen hour, and every other rarity already marks it as rare. Little is
 * at stake either way: an unseen bucket's rarity is then at most log 3
 * above its usual bucket's.
 */
export const MIN_HOUR_PROFILE_ROWS = 3;

/** Collects first and last sightings while the trainer walks its events. */
export interface CoverageTracker {
  /** Records a sighting of `process` at `seconds` since the epoch. */
  add(process: string, seconds: number): void;
  /**
   * Processes with at least MIN_HOUR_PROFILE_ROWS sightings whose history
   * misses a bucket the window's passes through, with the mask of the
   * buckets it passes through, sorted by process.
   */
  partial(): [string, number][];
}

/** @returns an empty tracker. */
export function createCoverageTracker(): CoverageTracker {
  // Per process: [sightings, first, last], in seconds.
  const seen = new Map<string, [number, number, number]>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  return {
    add(process, seconds) {
      if (seconds < first) first = seconds;
      if (seconds > last) last = seconds;
      const s = seen.get(process);
      if (s === undefined) {
        seen.set(process, [1, seconds, seconds]);
        return;
      }
      s[0] += 1;
      if (seconds < s[1]) s[1] = seconds;
      if (seconds > s[2]) s[2] = seconds;
    },
    partial() {
      const out: [string, number][] = [];
      if (!(last >= first)) return out;
      const window = bucketMask(first, last);
      for (const [process, [n, a, b]] of seen) {
        const own = bucketMask(a, b);
        if (n >= MIN_HOUR_PROFILE_ROWS && own !== window) out.push([process, own]);
      }
      return out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    },
  };
}

/**
 * The buckets of the day that the time from `a` to `b` (seconds since the
 * epoch, a ≤ b) passes through, as a mask with bit b for bucket b.
 */
export function bucketMask(a: number, b: number): number {
  // A day is a whole number of buckets, so buckets counted from the epoch
  // fall on the buckets of the day.
  const from = Math.floor(a / BUCKET_SECONDS);
  const to = Math.floor(b / BUCKET_SECONDS);
  if (to - from + 1 >= DAY_BUCKETS) return ALL_BUCKETS;
  let mask = 0;
  for (let k = from; k <= to; k++) mask |= 1 << (((k % DAY_BUCKETS) + DAY_BUCKETS) % DAY_BUCKETS);
  return mask;
}

/**
 * Rarity of a bucket a process was not seen in (see the module comment).
 *
 * @param mask the buckets the process's history passes through; ALL_BUCKETS for most.
 * @param bucket the event's bucket, 0 to 7.
 * @param max the table's maximum rarity, log(N + 1).
 * @param usual the rarity of the process's most common bucket.
 */
export function unseenHourRarity(mask: number, bucket: number, max: number, usual: number): number {
  return (mask & (1 << bucket)) !== 0 ? max : usual;
}
