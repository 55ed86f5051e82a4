import { createHash } from "node:crypto";
import type { FitOptions, Forest, Matrix } from "../isolation-forest.js";
import { createRandom } from "../random.js";

/** One fit the bit-identity test pins: a matrix, a seed and the options. */
export interface FitCase {
  name: string;
  x: Matrix;
  seed: number;
  options: FitOptions;
}

/** Sum of three uniforms, centred: a bell-shaped value in (−1.5, 1.5). */
function bell(r: ReturnType<typeof createRandom>): number {
  return r.next() + r.next() + r.next() - 1.5;
}

/**
 * Network-like columns: byte counts from 0 to 10^9 (heavy tail, log-uniform),
 * small counts with many ties, a constant column, signed values, a flag.
 */
function heavy(nRows: number, seed: number): Matrix {
  const nf = 9;
  const r = createRandom(seed);
  const data = new Float64Array(nRows * nf);
  for (let i = 0; i < nRows; i++) {
    const o = i * nf;
    data[o] = Math.floor(Math.exp(r.next() * Math.log(1e9)));
    data[o + 1] = Math.floor(r.next() * 4);
    data[o + 2] = 7;
    data[o + 3] = bell(r) * 1e3;
    data[o + 4] = r.next() < 0.1 ? 1 : 0;
    data[o + 5] = -Math.exp(r.next() * 20);
    data[o + 6] = r.next() * 1e-6;
    data[o + 7] = Math.floor(r.next() * 65_536);
    data[o + 8] = i % 3 === 0 ? bell(r) : 0;
  }
  return { data, nRows, nFeatures: nf };
}

function cloud(nRows: number, nf: number, seed: number): Matrix {
  const r = createRandom(seed);
  const data = new Float64Array(nRows * nf);
  for (let i = 0; i < data.length; i++) data[i] = bell(r);
  return { data, nRows, nFeatures: nf };
}

/** Mostly duplicates: 0/1 columns, so nodes run out of splittable features before the limit. */
function binary(nRows: number, nf: number, seed: number): Matrix {
  const r = createRandom(seed);
  const data = new Float64Array(nRows * nf);
  for (let i = 0; i < data.length; i++) data[i] = r.next() < 0.2 ? 1 : 0;
  return { data, nRows, nFeatures: nf };
}

/** The fits the test compares, old implementation against new. */
export function fitCases(): FitCase[] {
  // −0 beside 0: which of the two a node's min or max is depends on the order of its rows.
  const signedZeros = heavy(9000, 13);
  for (let i = 0; i < signedZeros.nRows; i++)
    if (i % 5 === 0) (signedZeros.data as Float64Array)[i * 9 + 8] = -0;
  const constant: Matrix = { data: new Float64Array(60 * 3).fill(2.5), nRows: 60, nFeatures: 3 };
  (constant.data as Float64Array)[59 * 3 + 1] = 3;
  return [
    { name: "cloud 1000×3, defaults", x: cloud(1000, 3, 1), seed: 1, options: {} },
    {
      name: "heavy 3000×9, 40 trees × 256",
      x: heavy(3000, 7),
      seed: 42,
      options: { nEstimators: 40 },
    },
    {
      name: "heavy 6000×9, 6 trees × 4096",
      x: heavy(6000, 8),
      seed: 3,
      options: { nEstimators: 6, maxSamples: 4096 },
    },
    {
      name: "cloud 100×4, ψ above the rows",
      x: cloud(100, 4, 2),
      seed: 9,
      options: { nEstimators: 7 },
    },
    {
      name: "binary 2000×5, duplicates",
      x: binary(2000, 5, 4),
      seed: 5,
      options: { nEstimators: 20, maxSamples: 512 },
    },
    {
      name: "constant 60×3 but one value",
      x: constant,
      seed: 6,
      options: { nEstimators: 5, maxSamples: 32 },
    },
    { name: "two rows", x: cloud(2, 2, 3), seed: 0, options: { nEstimators: 3 } },
    // Sizes past the per-tree copy, so the column-major and in-place layouts are checked too.
    {
      name: "heavy 9000×9, 10 trees × 8192, column-major copy",
      x: heavy(9000, 10),
      seed: 11,
      options: { nEstimators: 10, maxSamples: 8192 },
    },
    {
      name: "heavy 9000×9 with −0, 10 trees × 8192",
      x: signedZeros,
      seed: 13,
      options: { nEstimators: 10, maxSamples: 8192 },
    },
    {
      name: "heavy 20000×9, 2 trees × 8192, rows in place",
      x: heavy(20000, 12),
      seed: 12,
      options: { nEstimators: 2, maxSamples: 8192 },
    },
  ];
}

/**
 * SHA-256 of a forest's every field as raw float64 bits (so −0 and 0 differ,
 * unlike JSON): a fingerprint that changes if a single split does.
 */
export function forestDigest(forest: Forest): string {
  const h = createHash("sha256");
  h.update(
    JSON.stringify([forest.nFeatures, forest.maxSamples, forest.maxDepth, forest.trees.length]),
  );
  for (const t of forest.trees) {
    for (const column of [t.feature, t.threshold, t.right, t.size, t.low, t.high]) {
      const bits = Float64Array.from(column);
      h.update(JSON.stringify(bits.length));
      h.update(new Uint8Array(bits.buffer));
    }
  }
  return h.digest("hex");
}
