/**
 * The open-loop schedule of `stream-load.ts`: request i is due at
 * `i / perSecond` seconds after the start, whatever the server's answers,
 * and its latency counts from that time.
 */

/** When request `i` is due, in ms after the start. */
export function dueAtMs(i: number, perSecond: number): number {
  return (i / perSecond) * 1000;
}

/**
 * How many requests are due `elapsedMs` after the start: those whose time
 * has come (request 0 at once), exactly as `dueAtMs` puts them.
 */
export function dueCount(elapsedMs: number, perSecond: number): number {
  if (elapsedMs < 0) {
    return 0;
  }
  // The count of i with dueAtMs(i) <= elapsedMs; the estimate can be one off
  // either way by rounding.
  let n = Math.floor((elapsedMs / 1000) * perSecond) + 1;
  while (n > 0 && dueAtMs(n - 1, perSecond) > elapsedMs) {
    n--;
  }
  while (dueAtMs(n, perSecond) <= elapsedMs) {
    n++;
  }
  return n;
}
