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
 * Usage: `npm run generate:data -- [--out DIR] [--seed N] [--days N] [--rows N]
 * [--eval-seed N] [--eval-normal N] [--eval-per-scenario N]` ({@link HELP});
 * another eval seed gives a fresh labelled set from the same simulator (the
 * training set stays the same).
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { intFlag, parseFlags, UsageError } from "../cli/usage-error.js";
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

/** `npm run generate:data -- --help`. */
export const HELP = `usage: npm run generate:data -- [flags]

Writes two CSV files of simulated office traffic (eight hosts, their processes, a
working-hours rhythm; telemetry/simulator.ts), the same bytes for the same flags:
  DIR/telemetry.csv       normal traffic only, for training (npm run train -- --data ...)
  DIR/telemetry-eval.csv  labelled normal and attack rows (label, scenario columns),
                          for npm run evaluate -- --data ...

  --out DIR                 where to write (default data, which replaces the bundled
                            sets; git restore data/ brings them back)
training set:
  --seed N                  simulator seed (default ${TRAIN.seed})
  --days N                  days of traffic from Monday 2024-12-02, 1 to 366 (default ${TRAIN.days}:
                            24,659 rows; about 3,700 a weekday, 1,300 a weekend day)
  --rows N                  stop after N rows, even within --days (default: no limit)
evaluation set:
  --eval-seed N             simulator seed (default ${EVAL.seed})
  --eval-normal N           normal rows (default ${EVAL.normal})
  --eval-per-scenario N     at least N rows of each of the ${SCENARIOS.length} attack scenarios
                            (default ${EVAL.perScenario})

The number of hosts is fixed: the simulated network is one eight-host office
(telemetry/sim-network.ts). exit codes: 0 done, 1 cannot write, 2 bad flag.
`;

/** Options of {@link trainingCsv}; every field defaults to {@link TRAIN}'s. */
export interface TrainingOptions {
  seed?: number;
  /** Days of traffic from `TRAIN.startMs`. */
  days?: number;
  /** Largest number of rows; default unlimited. */
  rows?: number;
}

/** Options of {@link evaluationCsv}; every field defaults to {@link EVAL}'s. */
export interface EvaluationOptions {
  normal?: number;
  perScenario?: number;
}

/** Quotes one CSV cell when it holds a comma, quote or line break (RFC 4180). */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(",")}\n`;
}

/** The training CSV: normal traffic over `days` days (default `TRAIN.days`), at most `rows` rows. */
export function trainingCsv(options: TrainingOptions = {}): { text: string; rows: number } {
  const sim = createSimulator({
    seed: options.seed ?? TRAIN.seed,
    startMs: TRAIN.startMs,
    meanGapMs: TRAIN.meanGapMs,
  });
  const end = TRAIN.startMs + (options.days ?? TRAIN.days) * 86_400_000;
  const maxRows = options.rows ?? Number.POSITIVE_INFINITY;
  const parts = [csvLine(TELEMETRY_COLUMNS)];
  while (parts.length - 1 < maxRows) {
    const { event } = sim.next();
    if (sim.nowMs >= end) break;
    parts.push(csvLine(recordFromEvent(event)));
  }
  return { text: parts.join(""), rows: parts.length - 1 };
}

/** The labelled evaluation CSV, from simulator seed `seed`. */
export function evaluationCsv(
  seed = EVAL.seed,
  options: EvaluationOptions = {},
): { text: string; counts: Record<string, number> } {
  const normal = options.normal ?? EVAL.normal;
  const perScenario = options.perScenario ?? EVAL.perScenario;
  const sim = createSimulator({
    seed,
    startMs: EVAL.startMs,
    anomalyRate: EVAL.anomalyRate,
    meanGapMs: EVAL.meanGapMs,
  });
  const counts: Record<string, number> = { normal: 0 };
  for (const s of SCENARIOS) counts[s] = 0;
  const done = () =>
    (counts.normal as number) >= normal &&
    SCENARIOS.every((s) => (counts[s] as number) >= perScenario);
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

/** What the command line asked for. */
export interface GenerateArgs {
  help: boolean;
  out: string;
  train: Required<TrainingOptions>;
  evalSeed: number;
  evaluation: Required<EvaluationOptions>;
}

/**
 * Parses the flags of `npm run generate:data`.
 *
 * @throws UsageError naming the bad flag and value.
 */
export function parseGenerateArgs(argv: readonly string[]): GenerateArgs {
  const v = parseFlags(argv, {
    help: { type: "boolean", short: "h" },
    out: { type: "string" },
    seed: { type: "string" },
    days: { type: "string" },
    rows: { type: "string" },
    "eval-seed": { type: "string" },
    "eval-normal": { type: "string" },
    "eval-per-scenario": { type: "string" },
  });
  const str = (flag: string) => (typeof v[flag] === "string" ? (v[flag] as string) : undefined);
  const out = str("out") ?? "data";
  if (out.trim() === "") throw new UsageError("--out needs a directory");
  const maxSeed = 2 ** 31 - 1;
  return {
    help: v.help === true,
    out,
    train: {
      seed: intFlag("seed", str("seed"), TRAIN.seed, 0, maxSeed),
      days: intFlag("days", str("days"), TRAIN.days, 1, 366),
      rows: intFlag("rows", str("rows"), Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER),
    },
    evalSeed: intFlag("eval-seed", str("eval-seed"), EVAL.seed, 0, maxSeed),
    evaluation: {
      normal: intFlag("eval-normal", str("eval-normal"), EVAL.normal, 1, 10_000_000),
      perScenario: intFlag(
        "eval-per-scenario",
        str("eval-per-scenario"),
        EVAL.perScenario,
        0,
        1_000_000,
      ),
    },
  };
}

async function main(): Promise<void> {
  const args = parseGenerateArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  const dir = args.out;
  await mkdir(dir, { recursive: true });
  const train = trainingCsv(args.train);
  await writeAtomically(join(dir, "telemetry.csv"), train.text);
  process.stdout.write(`${join(dir, "telemetry.csv")}: ${train.rows} rows\n`);
  const evaluation = evaluationCsv(args.evalSeed, args.evaluation);
  await writeAtomically(join(dir, "telemetry-eval.csv"), evaluation.text);
  process.stdout.write(
    `${join(dir, "telemetry-eval.csv")}: ${JSON.stringify(evaluation.counts)}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    const usage = err instanceof UsageError;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`generate-data: ${message}${usage ? " (--help lists every flag)" : ""}\n`);
    process.exit(usage ? 2 : 1);
  });
}
