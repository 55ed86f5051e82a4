import { createRandom } from "../detector/index.js";
import { readCsvRows } from "../sources/csv-rows.js";
import { type BadRow, type BadRowLog, createBadRowLog } from "./bad-rows.js";
import type { Progress } from "./progress.js";
import { createReservoir } from "./reservoir.js";
import { RowError, type RowFormat } from "./row-formats.js";

/** What `readTrainingSet` read. */
export interface TrainingSet<T> {
  /** A uniform sample of the good rows, in file order while the file fits. */
  rows: T[];
  /** Good rows in the file. */
  good: number;
  bad: BadRowLog;
}

/** Options of `readTrainingSet`. */
export interface ReadOptions {
  /** Largest number of rows kept in memory. */
  reservoir: number;
  /** Seed of the reservoir's sampling. */
  seed: number;
  /** Called for each of the first bad rows. */
  onBadRow: (row: BadRow) => void;
  progress: Progress;
}

// The sampler's stream must not be the forest's: offset its seed.
const RESERVOIR_SEED_OFFSET = 0x5eed;

/**
 * Streams a training file once, skipping malformed rows and keeping a
 * seeded reservoir sample of the good ones, so memory is bounded by
 * `reservoir`, not by the file.
 *
 * @throws Error when the file cannot be read or lacks required columns.
 */
export async function readTrainingSet<T>(
  path: string,
  format: RowFormat<T>,
  options: ReadOptions,
): Promise<TrainingSet<T>> {
  const seed = (options.seed + RESERVOIR_SEED_OFFSET) % Number.MAX_SAFE_INTEGER;
  const reservoir = createReservoir<T>(options.reservoir, createRandom(seed));
  const bad = createBadRowLog(options.onBadRow);
  let rows = 0;
  const source = readCsvRows(path, {
    columns: format.columns,
    onHeader: (header) => format.checkHeader(path, header),
    onSkip: ({ line, message }) => {
      bad.add({ line, columns: [], message });
      options.progress.tick(++rows);
    },
  });
  for await (const { record, line } of source) {
    options.progress.tick(++rows);
    let row: T;
    try {
      row = format.parse(record);
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      bad.add({ line, columns: e.columns, message: e.message });
      continue;
    }
    reservoir.offer(row);
  }
  options.progress.done();
  return { rows: reservoir.items(), good: reservoir.seen, bad };
}
