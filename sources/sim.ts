import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { createSimulator } from "../telemetry/simulator.js";
import type { Source, SourceEvent } from "./source.js";

/** Start of the simulated clock unless `startMs` is given: the evaluation week, 2024-12-16. */
const DEFAULT_START_MS = Date.UTC(2024, 11, 16);

/**
 * The seeded office simulator: endless labelled events, attacks injected at
 * `anomalyRate` (default 0.02), seed `seed` (default 1).
 */
export const simSource: Source = {
  name: "sim",
  description: "simulated office traffic with labelled attacks (--seed, --anomaly-rate)",
  kind: "generated",
  fields: TELEMETRY_COLUMNS,
  open(options, ctx) {
    const sim = createSimulator({
      seed: options.seed ?? 1,
      anomalyRate: options.anomalyRate ?? 0.02,
      startMs: options.startMs ?? DEFAULT_START_MS,
    });
    // A plain iterator, not an async generator: the agent takes hundreds of
    // thousands of events a second, and a generator's queue and extra
    // promise per event cost more than making the event.
    let finished = false;
    const end: IteratorResult<SourceEvent> = { value: undefined, done: true };
    return {
      [Symbol.asyncIterator](): AsyncIterator<SourceEvent> {
        return {
          next: () => {
            if (finished || ctx.signal.aborted) {
              finished = true;
              return Promise.resolve(end);
            }
            try {
              return Promise.resolve({ value: sim.next(), done: false });
            } catch (err) {
              finished = true;
              return Promise.reject(err);
            }
          },
          return: () => {
            finished = true;
            return Promise.resolve(end);
          },
        };
      },
    };
  },
};
