import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  compileForest,
  createRandom,
  featurizeTableRecord,
  fitForest,
  fitTableFeatures,
  type Matrix,
  type TableFeatureSpec,
} from "../../detector/index.js";
import { DEFAULT_NSL_KDD_FEATURES } from "../../trainer/nsl-kdd.js";
import { NSL_KDD_TRAIN_DEFAULTS } from "../../trainer/train-args.js";
import { isAttack, type NslKddData } from "./nsl-kdd-data.js";

/**
 * Feature sets, as the trainer's `--features` names them: the 38 numeric
 * columns; plus one-hot protocol_type and flag; every column (service too).
 */
export const FEATURE_SETS = {
  n38: [] as string[],
  n38oh: ["protocol_type", "flag"],
  all: ["protocol_type", "service", "flag"],
} as const;
export type FeatureSetName = keyof typeof FEATURE_SETS;

/** The trainer's default feature set: the one scored against every peer. */
export const DEFAULT_FEATURES: FeatureSetName = DEFAULT_NSL_KDD_FEATURES;

/** A forest size: trees × sample size ψ. */
export interface ForestSize {
  name: string;
  trees: number;
  samples: number;
}

/** The size of the sklearn-paired table (scikit-learn's defaults). */
export const SKLEARN_SIZE: ForestSize = { name: "100 × 256", trees: 100, samples: 256 };

/** The trainer's default size for `--format nsl-kdd`. */
export const DEFAULT_SIZE: ForestSize = {
  name: `${NSL_KDD_TRAIN_DEFAULTS.trees} × ${NSL_KDD_TRAIN_DEFAULTS.sampleSize}`,
  trees: NSL_KDD_TRAIN_DEFAULTS.trees,
  samples: NSL_KDD_TRAIN_DEFAULTS.sampleSize,
};

/**
 * Sizes grown on the default feature set, to show what each choice costs
 * and buys: scikit-learn's defaults, two steps up, the trainer's default,
 * one step past it and isotree's defaults (500 × 10,000).
 */
export const SWEEP_SIZES: readonly ForestSize[] = [
  SKLEARN_SIZE,
  { name: "200 × 1024", trees: 200, samples: 1024 },
  { name: "300 × 2048", trees: 300, samples: 2048 },
  DEFAULT_SIZE,
  { name: "500 × 4096", trees: 500, samples: 4096 },
  { name: "500 × 10000", trees: 500, samples: 10_000 },
].filter((s, i, all) => all.findIndex((t) => t.name === s.name) === i);

/** Protocols: fit on the normal training rows, or on the training file with attacks at 2%. */
export const PROTOCOLS = ["novelty", "contaminated"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Share of attacks in the contaminated fit set. */
export const CONTAMINATED_ATTACK_SHARE = 0.02;

/** One (feature set, protocol, seed) run, as handed to the Python side. */
export interface BenchRun {
  id: string;
  features: FeatureSetName;
  protocol: Protocol;
  seed: number;
  nFeatures: number;
  fitRows: number;
  fit: string;
  test: string;
  /** Our forests on this matrix: size, scores file, fit (with compile) and score times. */
  ours: { name: string; file: string; fitMs: number; scoreMs: number }[];
  /** "all" runs every peer on this matrix, "sklearn" scikit-learn only. */
  peers: "all" | "sklearn";
  /** Training-file line indices of the fit set, in order (for the CLI cross-check). */
  fitIndices: Uint32Array;
}

// The attack sub-sample draws from its own stream, not the forest's.
const SUBSAMPLE_SEED_OFFSET = 1_000;

/**
 * Training-file indices of the fit set, in file order: every normal row,
 * plus (contaminated) attacks drawn without replacement, seeded, so that
 * they are `CONTAMINATED_ATTACK_SHARE` of the set.
 */
export function fitIndices(data: NslKddData, protocol: Protocol, seed: number): Uint32Array {
  const normal: number[] = [];
  const attacks: number[] = [];
  data.train.records.forEach((r, i) => {
    (isAttack(r) ? attacks : normal).push(i);
  });
  if (protocol === "novelty") return Uint32Array.from(normal);
  const k = Math.round(
    (CONTAMINATED_ATTACK_SHARE / (1 - CONTAMINATED_ATTACK_SHARE)) * normal.length,
  );
  const random = createRandom(seed + SUBSAMPLE_SEED_OFFSET);
  for (let i = 0; i < k; i++) {
    const j = i + random.int(attacks.length - i);
    [attacks[i], attacks[j]] = [attacks[j] as number, attacks[i] as number];
  }
  return Uint32Array.from([...normal, ...attacks.slice(0, k)].sort((a, b) => a - b));
}

function featurize(spec: TableFeatureSpec, records: readonly Record<string, string>[]): Matrix {
  const nFeatures = spec.features.length;
  const data = new Float64Array(records.length * nFeatures);
  records.forEach((r, i) => {
    featurizeTableRecord(spec, r, data, i * nFeatures);
  });
  return { data, nRows: records.length, nFeatures };
}

async function writeF64(path: string, values: Float64Array): Promise<void> {
  await writeFile(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/**
 * Featurizes every run exactly as the trainer does (`fitTableFeatures` on
 * the fit rows, `featurizeTableRecord`), grows our forests (100 trees × 256
 * samples; on the default feature set every size of `SWEEP_SIZES`; the run's
 * seed), times their fit and scoring, scores the test file and writes the
 * fit matrix, the test matrix (shared between runs with the same features)
 * and our scores into `dir` for the Python side.
 */
export async function prepareRuns(
  data: NslKddData,
  seeds: readonly number[],
  dir: string,
): Promise<BenchRun[]> {
  const labels = Uint8Array.from(data.test.records, (r) => (isAttack(r) ? 1 : 0));
  await writeFile(join(dir, "labels.u8"), labels);
  const testFiles = new Map<string, string>();
  const runs: BenchRun[] = [];
  for (const features of Object.keys(FEATURE_SETS) as FeatureSetName[]) {
    for (const protocol of PROTOCOLS) {
      for (const seed of seeds) {
        const id = `${features}-${protocol}-${seed}`;
        const indices = fitIndices(data, protocol, seed);
        const fitRecords = Array.from(
          indices,
          (i) => data.train.records[i] as Record<string, string>,
        );
        const spec = fitTableFeatures("nsl-kdd", data.numeric, FEATURE_SETS[features], fitRecords);
        const fit = featurize(spec, fitRecords);
        const key = JSON.stringify(spec.features);
        let test = testFiles.get(key);
        const testMatrix = featurize(spec, data.test.records);
        if (test === undefined) {
          test = `test-${testFiles.size}.f64`;
          testFiles.set(key, test);
          await writeF64(join(dir, test), testMatrix.data);
        }
        const sizes = features === DEFAULT_FEATURES ? SWEEP_SIZES : [SKLEARN_SIZE];
        const ours: BenchRun["ours"] = [];
        for (const size of sizes) {
          const t0 = performance.now();
          const forest = compileForest(
            fitForest(fit, createRandom(seed), {
              nEstimators: size.trees,
              maxSamples: size.samples,
            }),
          );
          const t1 = performance.now();
          const scores = new Float64Array(testMatrix.nRows);
          forest.scoreRows(testMatrix, scores);
          const t2 = performance.now();
          const file = `${id}.ours-${size.trees}x${size.samples}.f64`;
          await writeF64(join(dir, file), scores);
          ours.push({ name: size.name, file, fitMs: t1 - t0, scoreMs: t2 - t1 });
        }
        await writeF64(join(dir, `${id}.fit.f64`), fit.data);
        runs.push({
          id,
          features,
          protocol,
          seed,
          nFeatures: fit.nFeatures,
          fitRows: fit.nRows,
          fit: `${id}.fit.f64`,
          test,
          ours,
          peers: features === DEFAULT_FEATURES ? "all" : "sklearn",
          fitIndices: indices,
        });
      }
    }
  }
  return runs;
}
