/**
 * Writes the project's data sets from the telemetry simulator, the same bytes
 * on every run:
 *
 * - `data/telemetry.csv`: normal traffic only (the 13 telemetry columns),
 *   eight days from Monday 2024-12-02, seed 1. Trains the bundled model.
 * - `data/telemetry-eval.csv`: a held-out labelled set, seed 2, from Monday
 *   2024-12-16: about 20,000 normal events and at least 300 of every attack
 *   scenario, with `label` (0/1) and `scenario` columns.
 *
 * Usage: `npm run generate:data [-- --out <dir>] [--eval-seed <n>]`; another
 * eval seed gives a fresh labelled set from the same simulator (the
 * training set stays the same).
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { recordFromEvent } from "../telemetry/event-csv.js";
import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { createSimulator, SCENARIOS } from "../telemetry/simulator.js";

/** Seeds and windows of the two data sets (also stated in data/README.md). */
export const TRAIN = { seed: 1, startMs: Date.UTC(2024, 11, 2), days: 8, meanGapMs: 12_000 };
export const EVAL = {
  seed: 2,
  startMs: Date.UTC(2024, 11, 16),
  normal: 20_000,
  perScenario: 300,
  anomalyRate: 0.14,
  meanGapMs: 12_000,
};

/** Quotes one CSV cell when it holds a comma, quote or line break (RFC 4180). */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(",")}\n`;
}

/** The training CSV: normal traffic over `TRAIN.days` days. */
export function trainingCsv(): { text: string; rows: number } {
  const sim = createSimulator({
    seed: TRAIN.seed,
    startMs: TRAIN.startMs,
    meanGapMs: TRAIN.meanGapMs,
  });
  const end = TRAIN.startMs + TRAIN.days * 86_400_000;
  const parts = [csvLine(TELEMETRY_COLUMNS)];
  for (;;) {
    const { event } = sim.next();
    if (sim.nowMs >= end) break;
    parts.push(csvLine(recordFromEvent(event)));
  }
  return { text: parts.join(""), rows: parts.length - 1 };
}

/** The labelled evaluation CSV, from simulator seed `seed`. */
export function evaluationCsv(seed = EVAL.seed): { text: string; counts: Record<string, number> } {
  const sim = createSimulator({
    seed,
    startMs: EVAL.startMs,
    anomalyRate: EVAL.anomalyRate,
    meanGapMs: EVAL.meanGapMs,
  });
  const counts: Record<string, number> = { normal: 0 };
  for (const s of SCENARIOS) counts[s] = 0;
  const done = () =>
    (counts.normal as number) >= EVAL.normal &&
    SCENARIOS.every((s) => (counts[s] as number) >= EVAL.perScenario);
  const parts = [csvLine([...TELEMETRY_COLUMNS, "label", "scenario"])];
  while (!done()) {
    const { event, label } = sim.next();
    counts[label] = (counts[label] as number) + 1;
    parts.push(csvLine([...recordFromEvent(event), label === "normal" ? "0" : "1", label]));
  }
  return { text: parts.join(""), counts };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "data" },
      "eval-seed": { type: "string", default: String(EVAL.seed) },
    },
  });
  const dir = values.out as string;
  const evalSeed = Number(values["eval-seed"]);
  if (!Number.isSafeInteger(evalSeed) || evalSeed < 0) {
    throw new Error(`--eval-seed must be a non-negative integer, got ${values["eval-seed"]}`);
  }
  await mkdir(dir, { recursive: true });
  const train = trainingCsv();
  await writeAtomically(join(dir, "telemetry.csv"), train.text);
  process.stdout.write(`${join(dir, "telemetry.csv")}: ${train.rows} rows\n`);
  const evaluation = evaluationCsv(evalSeed);
  await writeAtomically(join(dir, "telemetry-eval.csv"), evaluation.text);
  process.stdout.write(
    `${join(dir, "telemetry-eval.csv")}: ${JSON.stringify(evaluation.counts)}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`generate-data: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
