import { describe, expect, it } from "vitest";
import { compileForest } from "./compiled-forest.js";
import {
  type Forest,
  fitForest,
  type IsolationTree,
  type Matrix,
  scoreFromPathSum,
  scoreRowReference,
} from "./isolation-forest.js";
import { createRandom } from "./random.js";
import { fitCases, forestDigest } from "./testdata/fit-cases.js";
import digests from "./testdata/fit-forest-digests.json" with { type: "json" };
import { fitForestReference } from "./testdata/reference-fit.js";

/** Gaussian-ish cloud of n rows with nf features, plus planted outliers appended. */
function cloud(n: number, nf: number, seed: number, outliers: number[][] = []): Matrix {
  const r = createRandom(seed);
  const rows = n + outliers.length;
  const data = new Float64Array(rows * nf);
  for (let i = 0; i < n * nf; i++) data[i] = r.next() + r.next() + r.next() - 1.5;
  outliers.forEach((o, k) => {
    data.set(o, (n + k) * nf);
  });
  return { data, nRows: rows, nFeatures: nf };
}

function scores(x: Matrix, seed = 1): Float64Array {
  const forest = fitForest(x, createRandom(seed));
  const out = new Float64Array(x.nRows);
  compileForest(forest).scoreRows(x, out);
  return out;
}

describe("fitForest()", () => {
  it("uses scikit-learn's defaults: 100 trees, psi = min(256, n), height limit ceil(log2 psi)", () => {
    const f = fitForest(cloud(1000, 3, 1), createRandom(1));
    expect(f.trees).toHaveLength(100);
    expect(f.maxSamples).toBe(256);
    expect(f.maxDepth).toBe(8);
    const small = fitForest(cloud(100, 3, 1), createRandom(1), { nEstimators: 5 });
    expect(small.maxSamples).toBe(100);
    expect(small.maxDepth).toBe(7);
    for (const t of f.trees) expect(t.size[0]).toBe(256);
  });

  it("grows the same forest from the same seed and a different one from another", () => {
    const x = cloud(500, 4, 3);
    expect(JSON.stringify(fitForest(x, createRandom(5)))).toBe(
      JSON.stringify(fitForest(x, createRandom(5))),
    );
    expect(JSON.stringify(fitForest(x, createRandom(5)))).not.toBe(
      JSON.stringify(fitForest(x, createRandom(6))),
    );
  });

  it("ranks planted outliers highest", () => {
    // scikit-learn's test_iforest_works, in spirit: two far points among a cloud.
    const x = cloud(300, 2, 11, [
      [6, 6],
      [-6, 5],
    ]);
    const s = scores(x);
    const ranked = [...s.keys()].sort((a, b) => (s[b] as number) - (s[a] as number));
    expect(ranked.slice(0, 2).sort()).toEqual([300, 301]);
  });

  it("scores in (0, 1] with an AUC near 1 on a seeded synthetic set", () => {
    const outliers = Array.from({ length: 20 }, (_, i) => [4 + (i % 5), -4 - (i % 3), (i % 2) * 5]);
    const x = cloud(1000, 3, 21, outliers);
    const s = scores(x, 4);
    for (const v of s) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    let wins = 0;
    for (let o = 1000; o < 1020; o++)
      for (let i = 0; i < 1000; i++) if ((s[o] as number) > (s[i] as number)) wins++;
    expect(wins / (20 * 1000)).toBeGreaterThan(0.98);
  });

  it("isolates a value beyond the training range at the first split on it, above the most extreme training value", () => {
    const x = cloud(1000, 1, 3);
    let max = Number.NEGATIVE_INFINITY;
    for (const v of x.data) max = Math.max(max, v);
    const forest = fitForest(x, createRandom(3));
    for (const t of forest.trees) {
      expect(t.low[0]).toBeLessThan(t.threshold[0] as number);
      expect(t.threshold[0]).toBeLessThanOrEqual(t.high[0] as number);
    }
    const c256 = 2 * (Math.log(255) + 0.5772156649015329) - (2 * 255) / 256;
    // One feature: every root splits on it, so a far value is cut off at depth 1 in every tree.
    expect(scoreRowReference(forest, [max + 100])).toBeCloseTo(2 ** (-1 / c256), 15);
    // Exactly: a path length of 1 in each tree.
    const nTrees = forest.trees.length;
    expect(scoreRowReference(forest, [max + 100])).toBe(
      scoreFromPathSum(nTrees, nTrees, forest.maxSamples),
    );
    expect(scoreRowReference(forest, [max + 100])).toBeGreaterThan(
      scoreRowReference(forest, [max]),
    );
    // Inside every range the walk is the plain one: depth to the leaf plus c(leaf size).
    expect(scoreRowReference(forest, [0])).toBeLessThan(0.5);
  });

  it("makes leaves of constant columns instead of failing", () => {
    const nf = 3;
    const x: Matrix = { data: new Float64Array(200 * nf), nRows: 200, nFeatures: nf };
    for (let i = 0; i < 200; i++) x.data[i * nf + 1] = i % 2; // one informative column, two constant
    const f = fitForest(x, createRandom(2), { nEstimators: 10 });
    for (const t of f.trees) {
      for (let n = 0; n < t.feature.length; n++)
        if ((t.feature[n] as number) >= 0) expect(t.feature[n]).toBe(1);
    }
    const allConstant: Matrix = { data: new Float64Array(50 * 2).fill(3), nRows: 50, nFeatures: 2 };
    const g = fitForest(allConstant, createRandom(2), { nEstimators: 3 });
    for (const t of g.trees) expect(t.feature).toEqual([-1]);
    const s = new Float64Array(50);
    compileForest(g).scoreRows(allConstant, s);
    // Every tree is one leaf of 50 points: E[h] = c(50) = c(psi), so s = 0.5.
    expect(s[0]).toBeCloseTo(0.5, 12);
  });

  it("rejects bad parameters with the value in the message", () => {
    const x = cloud(10, 2, 1);
    expect(() => fitForest(x, createRandom(1), { nEstimators: 0 })).toThrow(/nEstimators .* got 0/);
    expect(() => fitForest(x, createRandom(1), { maxSamples: 1 })).toThrow(/maxSamples .* got 1/);
  });
});

/** The first field where two forests differ, as "tree t, node n: field a ≠ b", or "". */
function firstDifference(a: Forest, b: Forest): string {
  const show = (v: unknown) => (Object.is(v, -0) ? "-0" : String(v));
  for (const k of ["nFeatures", "maxSamples", "maxDepth"] as const)
    if (!Object.is(a[k], b[k])) return `${k}: ${a[k]} ≠ ${b[k]}`;
  if (a.trees.length !== b.trees.length) return `trees: ${a.trees.length} ≠ ${b.trees.length}`;
  for (let t = 0; t < a.trees.length; t++) {
    const ta = a.trees[t] as IsolationTree;
    const tb = b.trees[t] as IsolationTree;
    for (const k of ["feature", "threshold", "right", "size", "low", "high"] as const) {
      if (ta[k].length !== tb[k].length)
        return `tree ${t}: ${ta[k].length} ≠ ${tb[k].length} nodes`;
      for (let n = 0; n < ta[k].length; n++)
        if (!Object.is(ta[k][n], tb[k][n]))
          return `tree ${t}, node ${n}: ${k} ${show(ta[k][n])} ≠ ${show(tb[k][n])}`;
    }
  }
  return "";
}

describe("fitForest() against the reference fit", () => {
  const cases = fitCases();
  const pinned = digests as Record<string, string>;

  it("keeps the reference fit pinned to the digests it gave before the rewrite", () => {
    expect(Object.keys(pinned).sort()).toEqual(cases.map((c) => c.name).sort());
    for (const c of cases)
      expect(forestDigest(fitForestReference(c.x, createRandom(c.seed), c.options)), c.name).toBe(
        pinned[c.name],
      );
  });

  it("grows the same forest bit for bit and leaves the generator in the same state", () => {
    for (const c of cases) {
      const ours = createRandom(c.seed);
      const theirs = createRandom(c.seed);
      const a = fitForest(c.x, ours, c.options);
      const b = fitForestReference(c.x, theirs, c.options);
      expect(firstDifference(a, b), c.name).toBe("");
      expect(forestDigest(a), c.name).toBe(pinned[c.name]);
      // Same number of draws: the next value of each generator agrees.
      expect(ours.next(), c.name).toBe(theirs.next());
      // Plain arrays, as model files and the compiler expect.
      for (const t of a.trees) expect(Array.isArray(t.threshold)).toBe(true);
    }
  });

  it("tells a forest apart from one whose single split moved", () => {
    const c = cases[1] as (typeof cases)[number];
    const a = fitForest(c.x, createRandom(c.seed), c.options);
    const b = fitForest(c.x, createRandom(c.seed), c.options);
    const tree = b.trees[3] as IsolationTree;
    const n = tree.feature.findIndex((f, i) => f >= 0 && i > 5);
    tree.threshold[n] = (tree.threshold[n] as number) * (1 + 2 ** -52);
    expect(firstDifference(a, b)).toMatch(/^tree 3, node \d+: threshold/);
    expect(forestDigest(b)).not.toBe(forestDigest(a));
  });
});

describe("compileForest()", () => {
  it("gives bit-identical scores to the reference walk, in batch and one by one", () => {
    for (const [n, nf, psi] of [
      [3000, 4, 256],
      [700, 23, 64],
      [50, 2, 256],
      [2000, 38, 1024],
    ] as const) {
      const x = cloud(n, nf, n, [[...Array(nf)].map(() => 9)]);
      const forest = fitForest(x, createRandom(3), { maxSamples: psi, nEstimators: 50 });
      const compiled = compileForest(forest);
      const out = new Float64Array(x.nRows);
      compiled.scoreRows(x, out);
      for (let i = 0; i < x.nRows; i++) {
        const row = x.data.subarray(i * nf, (i + 1) * nf);
        const reference = scoreRowReference(forest, row);
        expect(out[i]).toBe(reference);
        expect(compiled.scoreRow(Float64Array.from(row))).toBe(reference);
      }
    }
  });

  it("maps to scikit-learn's convention: score_samples = -s(x), 0.5 = E[h] equal to c(psi)", () => {
    const x = cloud(400, 2, 8);
    const forest = fitForest(x, createRandom(8));
    const compiled = compileForest(forest);
    // A point at the mean of the training paths scores 2^(-mean/c) by definition.
    const row = Float64Array.from([0, 0]);
    const s = compiled.scoreRow(row);
    let sum = 0;
    trees: for (const t of forest.trees) {
      let node = 0;
      let depth = 0;
      while ((t.feature[node] as number) >= 0) {
        const v = row[t.feature[node] as number] as number;
        // The top two levels check ranges.
        if (depth < 2 && (v < (t.low[node] as number) || v > (t.high[node] as number))) {
          sum += depth + 1; // isolated by this split: outside its training range
          continue trees;
        }
        node =
          (row[t.feature[node] as number] as number) < (t.threshold[node] as number)
            ? node + 1
            : (t.right[node] as number);
        depth++;
      }
      const m = t.size[node] as number;
      sum +=
        depth +
        (m <= 1 ? 0 : m === 2 ? 1 : 2 * (Math.log(m - 1) + 0.5772156649015329) - (2 * (m - 1)) / m);
    }
    const c = 2 * (Math.log(255) + 0.5772156649015329) - (2 * 255) / 256;
    expect(s).toBeCloseTo(2 ** (-(sum / 100) / c), 14);
  });

  it("attributes a planted outlier to the feature it was planted in", () => {
    const nf = 6;
    for (const planted of [0, 3, 5]) {
      const x = cloud(1000, nf, 30 + planted);
      const forest = fitForest(x, createRandom(planted));
      const compiled = compileForest(forest);
      const row = new Float64Array(nf);
      row[planted] = 8;
      const contributions = new Float64Array(nf);
      compiled.attributeRow(row, contributions);
      const best = contributions.indexOf(Math.max(...contributions));
      expect(best).toBe(planted);
      // Contributions sum to the path shortening against the average training point.
      let pathSum = 0;
      const s = compiled.scoreRow(row);
      pathSum = -Math.log2(s) * (2 * (Math.log(255) + 0.5772156649015329) - (2 * 255) / 256);
      const total = contributions.reduce((a, b) => a + b, 0);
      expect(total).toBeCloseTo(compiled.meanRootPathLength - pathSum, 9);
    }
  });
});
