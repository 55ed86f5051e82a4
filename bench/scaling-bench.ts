import { compileForest } from "../detector/compiled-forest.js";
import { fitForest, type Matrix } from "../detector/isolation-forest.js";
import { createRandom } from "../detector/random.js";
import type { EngineFixture } from "./engine-fixture.js";
import { micros, type Rates, timeRuns } from "./stats.js";

/** One point of the engine scaling table. */
export interface EngineScalePoint {
  trees: number;
  maxSamples: number;
  features: number;
  /** Height limit: steps per walk. */
  depth: number;
  /** Forest (WebAssembly kernel) rows per second on a batch. */
  rowsPerSecond: Rates;
  /** Microseconds per single-row score. */
  singleRowMicros: Rates;
  /** Bytes of the kernel's node arrays: trees × (2^(depth+1) − 1) × 16. */
  nodeBytes: number;
}

/** `n` rows × `nf` features of seeded noise, for synthetic feature widths. */
function noise(n: number, nf: number, seed: number): Matrix {
  const r = createRandom(seed);
  const data = new Float64Array(n * nf);
  for (let i = 0; i < data.length; i++) data[i] = r.next() + r.next() - 1;
  return { data, nRows: n, nFeatures: nf };
}

function measure(
  train: Matrix,
  rows: Matrix,
  trees: number,
  maxSamples: number,
  repeats: number,
): EngineScalePoint {
  const forest = fitForest(train, createRandom(42), { nEstimators: trees, maxSamples });
  const compiled = compileForest(forest);
  const out = new Float64Array(rows.nRows);
  const nf = rows.nFeatures;
  const row = new Float64Array(nf);
  const singles = Math.min(5000, rows.nRows);
  let sink = 0;
  const rowsPerSecond = timeRuns(repeats, rows.nRows, () => compiled.scoreRows(rows, out));
  const singleRowMicros = micros(
    timeRuns(repeats, singles, () => {
      for (let r = 0; r < singles; r++) {
        for (let f = 0; f < nf; f++) row[f] = rows.data[r * nf + f] as number;
        sink += compiled.scoreRow(row);
      }
    }),
  );
  if (!(sink > 0)) throw new Error("scores vanished");
  return {
    trees,
    maxSamples: forest.maxSamples,
    features: nf,
    depth: forest.maxDepth,
    rowsPerSecond,
    singleRowMicros,
    nodeBytes: trees * (2 ** (forest.maxDepth + 1) - 1) * 16,
  };
}

/**
 * Engine throughput against trees (ψ = 256), sub-sample size ψ (100 trees)
 * on the telemetry features, and feature width (100 trees, ψ = 256) on
 * synthetic rows of 8 to 128 features.
 */
export function runEngineScaling(
  fx: EngineFixture,
  repeats: number,
  quick: boolean,
): EngineScalePoint[] {
  const rows: Matrix = { ...fx.rows, nRows: Math.min(fx.rows.nRows, quick ? 10_000 : 20_000) };
  const points: EngineScalePoint[] = [];
  for (const trees of [50, 100, 200, 400])
    points.push(measure(fx.train, rows, trees, 256, repeats));
  for (const psi of [64, 1024]) points.push(measure(fx.train, rows, 100, psi, repeats));
  for (const nf of [8, 64, 128]) {
    points.push(measure(noise(20_000, nf, nf), noise(rows.nRows, nf, nf + 1), 100, 256, repeats));
  }
  return points;
}
