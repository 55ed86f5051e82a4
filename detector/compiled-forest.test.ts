import { describe, expect, it } from "vitest";
import {
  COMPLETE_LAYOUT_MAX_DEPTH,
  compileForest,
  expectedPathLengths,
  type ForestKernelKind,
} from "./compiled-forest.js";
import { fitForest, type Matrix, scoreRowReference } from "./isolation-forest.js";
import { createRandom } from "./random.js";

/** n rows of nf features, with duplicates and ties so walks hit thresholds and padded leaves. */
function rows(n: number, nf: number, seed: number): Matrix {
  const r = createRandom(seed);
  const data = new Float64Array(n * nf);
  for (let i = 0; i < n * nf; i++) data[i] = r.int(4) === 0 ? r.int(3) : r.next() * 10 - 5;
  return { data, nRows: n, nFeatures: nf };
}

const KERNELS: ForestKernelKind[] = ["wasm", "js"];

describe("compileForest() kernels", () => {
  it("uses the WebAssembly kernel by default and the JS one on request", () => {
    const forest = fitForest(rows(100, 3, 1), createRandom(1), { nEstimators: 3 });
    expect(compileForest(forest).kernel).toBe("wasm");
    expect(compileForest(forest, { kernel: "js" }).kernel).toBe("js");
  });

  for (const kernel of KERNELS) {
    it(`${kernel}: matches the reference walk bit for bit across shapes`, () => {
      // Row counts off the 8-row groups and 1024-row chunks, tree counts off
      // the 8-tree lanes, depths from 1 (psi = 2) to 10 (psi = 1024).
      for (const [n, nf, psi, trees] of [
        [2500, 26, 256, 100],
        [37, 5, 2, 13],
        [1030, 1, 1024, 9],
        [333, 40, 64, 8],
        [9, 26, 8, 1],
      ] as const) {
        const x = rows(n, nf, n + nf);
        const forest = fitForest(x, createRandom(psi), { maxSamples: psi, nEstimators: trees });
        const compiled = compileForest(forest, { kernel });
        expect(compiled.kernel).toBe(kernel);
        const out = new Float64Array(n);
        compiled.scoreRows(x, out);
        for (let i = 0; i < n; i++) {
          const row = x.data.slice(i * nf, (i + 1) * nf);
          const reference = scoreRowReference(forest, row);
          expect(out[i]).toBe(reference);
          expect(compiled.scoreRow(row)).toBe(reference);
        }
      }
    });

    it(`${kernel}: scores rows it never saw in training and leaves earlier calls no trace`, () => {
      const forest = fitForest(rows(1000, 6, 2), createRandom(7));
      const compiled = compileForest(forest, { kernel });
      const big = rows(2049, 6, 3);
      const small = rows(5, 6, 4);
      compiled.scoreRows(big, new Float64Array(big.nRows));
      const out = new Float64Array(small.nRows);
      compiled.scoreRows(small, out);
      for (let i = 0; i < small.nRows; i++) {
        expect(out[i]).toBe(scoreRowReference(forest, small.data.subarray(i * 6, (i + 1) * 6)));
      }
      const far = Float64Array.from([1e300, -1e300, 0, -0, 5e-324, 3]);
      expect(compiled.scoreRow(far)).toBe(scoreRowReference(forest, far));
    });
  }

  it("scores and attributes in one walk (WebAssembly) exactly as the JS kernel does in two, across shapes", () => {
    for (const [n, nf, psi, trees] of [
      [400, 26, 256, 100],
      [37, 5, 2, 13],
      [60, 1, 1024, 9],
      [80, 40, 64, 8],
      [9, 26, 8, 1],
    ] as const) {
      const x = rows(n, nf, n + nf);
      const forest = fitForest(x, createRandom(psi), { maxSamples: psi, nEstimators: trees });
      const wasm = compileForest(forest);
      const js = compileForest(forest, { kernel: "js" });
      expect(wasm.kernel).toBe("wasm");
      // Training rows, rows beyond every range (isolated at the root or level 1), and the same
      // row after a different one: the kernel keeps nothing between calls.
      const probe = rows(n, nf, 7 * n);
      for (let i = 0; i < probe.nRows; i++) {
        if (i % 5 === 0) probe.data[i * nf + (i % nf)] = i % 2 === 0 ? 1e9 : -1e9;
      }
      for (const m of [x, probe]) {
        for (let i = 0; i < m.nRows; i++) {
          const row = m.data.slice(i * nf, (i + 1) * nf);
          const a = new Float64Array(nf).fill(0.25);
          const b = new Float64Array(nf).fill(0.25);
          const score = wasm.scoreAndAttributeRow(row, a);
          js.attributeRow(row, b);
          expect(score).toBe(js.scoreRow(row));
          expect(score).toBe(scoreRowReference(forest, row));
          expect(a).toEqual(b);
          const c = new Float64Array(nf).fill(0.25);
          wasm.attributeRow(row, c);
          expect(c).toEqual(b);
        }
      }
    }
  });

  it("attributes path shortening exactly as a walk of the fitted trees does", () => {
    const nf = 7;
    const x = rows(600, nf, 9);
    const forest = fitForest(x, createRandom(4), { nEstimators: 20, maxSamples: 128 });
    const compiled = compileForest(forest);
    const expected = forest.trees.map(expectedPathLengths);
    for (let r = 0; r < 50; r++) {
      const row = x.data.slice(r * nf, (r + 1) * nf);
      const reference = new Float64Array(nf);
      forest.trees.forEach((tree, t) => {
        const e = expected[t] as Float64Array;
        let node = 0;
        let depth = 0;
        while ((tree.feature[node] as number) >= 0) {
          const f = tree.feature[node] as number;
          const v = row[f] as number;
          // The top two levels check ranges.
          if (depth < 2 && (v < (tree.low[node] as number) || v > (tree.high[node] as number))) {
            // Outside the node's range: isolated here, one level below.
            reference[f] =
              (reference[f] as number) + ((e[node] as number) - 1) / forest.trees.length;
            break;
          }
          const child =
            (row[f] as number) < (tree.threshold[node] as number)
              ? node + 1
              : (tree.right[node] as number);
          reference[f] =
            (reference[f] as number) +
            ((e[node] as number) - 1 - (e[child] as number)) / forest.trees.length;
          node = child;
          depth++;
        }
      });
      const out = new Float64Array(nf);
      compiled.attributeRow(row, out);
      expect(out).toEqual(reference);
    }
  });
});

/** Like `rows`, but every value of a row far outside the training ranges at `every`-th rows. */
function withOutliers(m: Matrix, every: number): Matrix {
  const data = m.data.slice();
  for (let i = 0; i < m.nRows; i += every) {
    data[i * m.nFeatures + (i % m.nFeatures)] = i % 2 === 0 ? 1e9 : -1e9;
  }
  return { ...m, data };
}

describe("compileForest() layouts", () => {
  it("lays out complete trees up to the depth limit and real nodes beyond it", () => {
    const x = rows(3000, 4, 5);
    const shallow = fitForest(x, createRandom(1), {
      nEstimators: 2,
      maxSamples: 2 ** COMPLETE_LAYOUT_MAX_DEPTH,
    });
    const deep = fitForest(x, createRandom(1), {
      nEstimators: 2,
      maxSamples: 2 ** COMPLETE_LAYOUT_MAX_DEPTH + 1,
    });
    expect(compileForest(shallow).layout).toBe("complete");
    expect(compileForest(deep).layout).toBe("nodes");
    expect(compileForest(deep).kernel).toBe("wasm");
    expect(compileForest(deep, { kernel: "js" }).kernel).toBe("js");
    expect(compileForest(shallow, { layout: "nodes" }).layout).toBe("nodes");
  });

  for (const kernel of KERNELS) {
    it(`${kernel}: node layout matches the reference walk bit for bit across depths`, () => {
      // Depths 1 to 14, trees the fit stopped early (ties, few distinct
      // values), rows outside the root's and level 1's ranges, row counts off
      // the 8-row groups and the blocks.
      for (const [n, nf, psi, trees] of [
        [37, 5, 2, 13],
        [9, 26, 8, 1],
        [333, 40, 64, 8],
        [2500, 26, 256, 20],
        [1030, 1, 1024, 9],
        [5000, 3, 4096, 3],
        [10_007, 12, 10_000, 2],
      ] as const) {
        const x = rows(n, nf, n + nf);
        const forest = fitForest(x, createRandom(psi), { maxSamples: psi, nEstimators: trees });
        const compiled = compileForest(forest, { kernel, layout: "nodes" });
        expect(compiled.kernel).toBe(kernel);
        expect(compiled.layout).toBe("nodes");
        for (const m of [x, withOutliers(rows(n, nf, 3 * n), 3)]) {
          const out = new Float64Array(m.nRows);
          compiled.scoreRows(m, out);
          for (let i = 0; i < m.nRows; i++) {
            const row = m.data.slice(i * nf, (i + 1) * nf);
            const reference = scoreRowReference(forest, row);
            expect(out[i]).toBe(reference);
            if (i % 7 === 0) expect(compiled.scoreRow(row)).toBe(reference);
          }
        }
      }
    });
  }

  it("node layout scores a forest whose trees are single leaves (all rows alike)", () => {
    const x: Matrix = { data: new Float64Array(3 * 50).fill(2), nRows: 50, nFeatures: 3 };
    const forest = fitForest(x, createRandom(3), { maxSamples: 32, nEstimators: 4 });
    expect(forest.trees.every((t) => t.feature.length === 1)).toBe(true);
    const probe = withOutliers(rows(20, 3, 8), 2);
    for (const kernel of KERNELS) {
      const compiled = compileForest(forest, { kernel, layout: "nodes" });
      const out = new Float64Array(probe.nRows);
      compiled.scoreRows(probe, out);
      for (let i = 0; i < probe.nRows; i++) {
        const row = probe.data.slice(i * 3, i * 3 + 3);
        expect(out[i]).toBe(scoreRowReference(forest, row));
        expect(compiled.scoreRow(row)).toBe(out[i]);
      }
    }
  });

  it("node layout attributes and scores in one walk exactly as the complete layout does", () => {
    for (const [n, nf, psi, trees] of [
      [400, 26, 256, 30],
      [37, 5, 2, 13],
      [3000, 7, 2048, 4],
    ] as const) {
      const x = rows(n, nf, n + nf);
      const forest = fitForest(x, createRandom(psi), { maxSamples: psi, nEstimators: trees });
      const nodes = compileForest(forest, { layout: "nodes" });
      const complete = compileForest(forest, { layout: "complete", kernel: "js" });
      expect(nodes.meanRootPathLength).toBe(complete.meanRootPathLength);
      const probe = withOutliers(rows(Math.min(n, 300), nf, 5 * n), 4);
      for (let i = 0; i < probe.nRows; i++) {
        const row = probe.data.slice(i * nf, (i + 1) * nf);
        const a = new Float64Array(nf).fill(0.25);
        const b = new Float64Array(nf).fill(0.25);
        const c = new Float64Array(nf).fill(0.25);
        const score = nodes.scoreAndAttributeRow(row, a);
        complete.attributeRow(row, b);
        nodes.attributeRow(row, c);
        expect(score).toBe(scoreRowReference(forest, row));
        expect(a).toEqual(b);
        expect(c).toEqual(b);
      }
    }
  });
});
