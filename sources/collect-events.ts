import type { Source, SourceEvent, SourceOptions, SourceProblem } from "./source.js";

/** Everything a source gave and said over one run. */
export interface Collected {
  events: SourceEvent[];
  skips: SourceProblem[];
  notices: string[];
}

/**
 * Opens `source` and reads it to the end (or until `limit` events), keeping
 * what it skipped and said: for tests, the bench and one-off checks.
 * A source's thrown error is thrown on.
 */
export async function collectEvents(
  source: Source,
  options: SourceOptions,
  limit = Number.POSITIVE_INFINITY,
  signal: AbortSignal = new AbortController().signal,
): Promise<Collected> {
  const out: Collected = { events: [], skips: [], notices: [] };
  const ctx = {
    signal,
    onSkip: (p: SourceProblem) => out.skips.push(p),
    onNotice: (m: string) => out.notices.push(m),
  };
  for await (const e of source.open(options, ctx)) {
    out.events.push(e);
    if (out.events.length >= limit) break;
  }
  return out;
}
