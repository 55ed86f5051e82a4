import { setFlagsFromString } from "node:v8";

/**
 * Old-generation growth the server asks V8 for: after each full GC the next
 * one is due when the old generation has grown by this many percent (V8 adds
 * at least 8 MB). V8's default factor, on a machine with a few GB of memory,
 * lets it grow up to 4× its live size first. The server's live heap is about
 * 14 MB, but under unary load (ghz, 50 calls in flight) a scavenge promotes a
 * few MB of short-lived objects, so by default the old generation filled to
 * about 60 MB of mostly dead objects before a full GC, and that set the peak
 * RSS: 154–158 MB over three runs of `npm run bench -- --quick --only
 * stream,unary`, 119–121 MB with 50 % (old generation under about 25 MB) at
 * the same stream and unary rates. A full GC of the 14 MB live heap takes a
 * few milliseconds.
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Applies {@link HEAP_GROWING_PERCENT} to this process's V8 heap, unless the
 * command line already sets `--heap-growing-percent` (that one wins). The
 * flag is read whenever V8 computes its next GC limit, so setting it at
 * start-up takes effect in every way the server is run (`npm run server`,
 * `node dist/server/main.js`, the container) without a command-line flag.
 *
 * @param execArgv - Node's own command-line flags; default `process.execArgv`.
 * @returns the percentage in effect, or undefined when the command line set it.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) {
    return undefined;
  }
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
