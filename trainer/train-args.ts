import { choiceFlag, intFlag, parseFlags, UsageError, workersFlag } from "../cli/usage-error.js";
import { MAX_FIT_WORKERS } from "../detector/index.js";
import { FILE_SOURCE_NAMES } from "../sources/index.js";
import {
  DEFAULT_NSL_KDD_FEATURES,
  NSL_KDD_FEATURE_SETS,
  type NslKddFeatureSet,
} from "./nsl-kdd.js";

/**
 * Input formats the trainer and evaluator read: our telemetry CSV
 * (`telemetry`, also `csv`), NSL-KDD, and every file source in the sources
 * registry (`jsonl`, `zeek`, `suricata`, …), by the same names as the
 * agent's `--source`.
 */
export const FORMATS: readonly string[] = [
  "telemetry",
  "nsl-kdd",
  ...FILE_SOURCE_NAMES.filter((n) => n !== "telemetry"),
];
export type InputFormat = string;

/** True for the formats read by the telemetry CSV reader (validated row by row, with columns). */
export function isTelemetryCsv(format: InputFormat): boolean {
  return format === "telemetry" || format === "csv";
}

/** The trainer's command line, checked and with defaults merged. */
export interface TrainArgs {
  data: string;
  out: string;
  trees: number;
  sampleSize: number;
  seed: number;
  contamination: number | "auto";
  format: InputFormat;
  features: NslKddFeatureSet;
  reservoir: number;
  maxBad: number;
  /** Worker threads growing the forest; undefined: one thread, one random stream (the default). */
  fitWorkers: number | undefined;
  quiet: boolean;
  help: boolean;
}

/** Default training parameters; scikit-learn's where it has them. */
export const TRAIN_DEFAULTS = {
  trees: 100,
  sampleSize: 256,
  seed: 42,
  contamination: 0.01,
  reservoir: 100_000,
  maxBad: 0.01,
} as const;

/**
 * Forest size for `--format nsl-kdd` unless told otherwise, chosen by
 * `npm run bench:quality` on KDDTest+ (README, "Detection quality"): more
 * and larger trees than the telemetry defaults, which NSL-KDD's 70
 * `service` categories and 14k-row training files need.
 */
export const NSL_KDD_TRAIN_DEFAULTS = {
  trees: 500,
  sampleSize: 3072,
} as const;

export const TRAIN_USAGE = `usage: npm run train -- --data <csv> --out <model file> [options]

  --data <csv>             training data (telemetry CSV with header, or NSL-KDD rows)
  --out <file>             model file to write (atomically; directories are created)
  --trees <n>              number of trees, [1, 10000] (default ${TRAIN_DEFAULTS.trees}; nsl-kdd ${NSL_KDD_TRAIN_DEFAULTS.trees})
  --sample-size <n>        rows per tree, [2, 65536], clamped to the rows
                           (default ${TRAIN_DEFAULTS.sampleSize}; nsl-kdd ${NSL_KDD_TRAIN_DEFAULTS.sampleSize})
  --seed <n>               seed of all randomness, [0, 2^53) (default ${TRAIN_DEFAULTS.seed})
  --contamination <f|auto> share of training rows to flag, (0, 0.5], sets the threshold (default ${TRAIN_DEFAULTS.contamination})
  --format <name>          telemetry (= csv) | nsl-kdd | ${FILE_SOURCE_NAMES.filter((n) => n !== "csv").join(" | ")}
                           (default telemetry); a format without some fields (no process in
                           flows or Zeek, no bytes in Sysmon) gives a model of the fields it has
  --features <set>         nsl-kdd only: n38 | n38oh | all (default ${DEFAULT_NSL_KDD_FEATURES}: every column,
                           protocol_type, service and flag one-hot)
  --reservoir <n>          rows kept in memory, a uniform sample of the file (default ${TRAIN_DEFAULTS.reservoir})
  --max-bad <f>            largest share of malformed rows tolerated, [0, 1] (default ${TRAIN_DEFAULTS.maxBad})
  --fit-workers <n|auto>   grow the trees in n worker threads, [1, ${MAX_FIT_WORKERS}] (auto: one per core):
                           a seed per tree, so the model does not depend on n, but differs
                           from the default one-thread fit of the same seed (default: one thread)
  --quiet                  no progress or bad-row lines on stderr
`;

/**
 * Parses and checks the trainer's flags before any work is done.
 *
 * @throws UsageError with one line naming the flag, its rule and the value.
 */
export function parseTrainArgs(argv: readonly string[]): TrainArgs {
  const values = parseFlags(argv, {
    data: { type: "string" },
    out: { type: "string" },
    trees: { type: "string" },
    "sample-size": { type: "string" },
    seed: { type: "string" },
    contamination: { type: "string" },
    format: { type: "string" },
    features: { type: "string" },
    reservoir: { type: "string" },
    "max-bad": { type: "string" },
    "fit-workers": { type: "string" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const str = (k: string) => values[k] as string | undefined;
  const help = values.help === true;
  if (!help) {
    if (!str("data")) throw new UsageError("--data <csv> is required");
    if (!str("out")) throw new UsageError("--out <model file> is required");
  }
  const format = choiceFlag("format", str("format"), FORMATS, "telemetry");
  const featureSets = Object.keys(NSL_KDD_FEATURE_SETS) as NslKddFeatureSet[];
  if (str("features") !== undefined && format !== "nsl-kdd") {
    throw new UsageError("--features applies only to --format nsl-kdd");
  }
  const sizes = format === "nsl-kdd" ? NSL_KDD_TRAIN_DEFAULTS : TRAIN_DEFAULTS;
  return {
    data: str("data") ?? "",
    out: str("out") ?? "",
    trees: intFlag("trees", str("trees"), sizes.trees, 1, 10_000),
    sampleSize: intFlag("sample-size", str("sample-size"), sizes.sampleSize, 2, 65_536),
    seed: intFlag("seed", str("seed"), TRAIN_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER),
    contamination: contaminationFlag(str("contamination")),
    format,
    features: choiceFlag("features", str("features"), featureSets, DEFAULT_NSL_KDD_FEATURES),
    reservoir: intFlag("reservoir", str("reservoir"), TRAIN_DEFAULTS.reservoir, 2, 50_000_000),
    maxBad: fractionFlag("max-bad", str("max-bad"), TRAIN_DEFAULTS.maxBad),
    fitWorkers: workersFlag("fit-workers", str("fit-workers"), MAX_FIT_WORKERS),
    quiet: values.quiet === true,
    help,
  };
}

function contaminationFlag(text: string | undefined): number | "auto" {
  if (text === undefined) return TRAIN_DEFAULTS.contamination;
  if (text === "auto") return "auto";
  const c = text.trim() === "" ? Number.NaN : Number(text);
  if (!(c > 0 && c <= 0.5))
    throw new UsageError(`--contamination must be in (0, 0.5] or "auto", got ${text}`);
  return c;
}

function fractionFlag(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const f = text.trim() === "" ? Number.NaN : Number(text);
  if (!(f >= 0 && f <= 1)) throw new UsageError(`--${flag} must be in [0, 1], got ${text}`);
  return f;
}
