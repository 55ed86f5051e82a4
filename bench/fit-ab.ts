/**
 * Times `fitForest` from two or more copies of detector/ in one process,
 * taking turns, on the fit section's matrices: the before/after check of a
 * change to the fit, which shares the machine's spells of load between the
 * copies instead of comparing runs made minutes apart.
 *
 *   git archive <rev> detector | tar -x -C /tmp/before
 *   node --import tsx bench/fit-ab.ts telemetry 500 10000 7 /tmp/before .
 *
 * Arguments: the matrix (`telemetry` or `nsl-kdd`), trees, ψ, rounds, then
 * the directories holding each copy's detector/ (the first is the baseline).
 * Prints each copy's CPU milliseconds per fit (median, min–max; ψ ≤ 1024
 * times 10 fits per turn) and the baseline's time ÷ the copy's, turn by
 * turn. A copy's forest must equal the baseline's, or the run fails, unless
 * FIT_AB_NEW_FOREST=1 says the change grows a different forest on purpose
 * (then each copy's total node count is printed instead).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { FitOptions, Forest, Matrix } from "../detector/isolation-forest.js";
import type { Random } from "../detector/random.js";
import { findNslKdd, nslKddFitMatrix, telemetryFitMatrix } from "./fit-matrices.js";
import { spread, summarize } from "./stats.js";

interface Copy {
  dir: string;
  fitForest: (x: Matrix, random: Random, options?: FitOptions) => Forest;
  createRandom: (seed: number) => Random;
  ms: number[];
}

async function loadCopy(dir: string): Promise<Copy> {
  const url = (file: string) => pathToFileURL(resolve(dir, "detector", file)).href;
  const forest = await import(url("isolation-forest.ts"));
  const random = await import(url("random.ts"));
  return { dir, fitForest: forest.fitForest, createRandom: random.createRandom, ms: [] };
}

async function main(): Promise<void> {
  const [matrix, treesArg, psiArg, roundsArg, ...dirs] = process.argv.slice(2);
  const trees = Number(treesArg);
  const psi = Number(psiArg);
  const rounds = Number(roundsArg);
  if (
    (matrix !== "telemetry" && matrix !== "nsl-kdd") ||
    !Number.isInteger(trees) ||
    !Number.isInteger(psi) ||
    !Number.isInteger(rounds) ||
    rounds < 1 ||
    dirs.length < 2
  ) {
    console.error("usage: fit-ab.ts telemetry|nsl-kdd TREES PSI ROUNDS BASE_DIR DIR...");
    process.exit(2);
  }
  let x: Matrix;
  if (matrix === "telemetry") x = telemetryFitMatrix().x;
  else {
    const dir = findNslKdd(process.cwd());
    if (dir === undefined) throw new Error("NSL-KDD not found (set NSL_KDD_DIR)");
    x = (await nslKddFitMatrix(dir)).x;
  }
  const copies: Copy[] = [];
  for (const dir of dirs) copies.push(await loadCopy(dir));
  const options = { nEstimators: trees, maxSamples: psi };
  const expected = JSON.stringify(copies[0]?.fitForest(x, copies[0].createRandom(42), options));
  const newForest = process.env.FIT_AB_NEW_FOREST === "1";
  for (const copy of copies) {
    const forest = copy.fitForest(x, copy.createRandom(42), options);
    if (newForest) {
      const nodes = forest.trees.reduce((sum, tree) => sum + tree.feature.length, 0);
      console.log(`${copy.dir}: ${nodes} nodes`);
    } else if (JSON.stringify(forest) !== expected) {
      throw new Error(`${copy.dir}: the forest differs from ${dirs[0]}'s`);
    }
  }
  const perTurn = psi <= 1024 ? 10 : 1;
  const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const loadBefore = load();
  for (let round = 0; round < rounds; round++) {
    for (const copy of copies) {
      const before = process.cpuUsage();
      for (let k = 0; k < perTurn; k++) copy.fitForest(x, copy.createRandom(42), options);
      const used = process.cpuUsage(before);
      copy.ms.push((used.user + used.system) / 1000 / perTurn);
    }
  }
  const base = copies[0] as Copy;
  const ms = (v: number) => v.toFixed(1);
  for (const copy of copies) {
    const ratio = summarize(copy.ms.map((v, i) => (base.ms[i] as number) / v));
    console.log(
      `${matrix} ${trees} × ψ ${psi}, ${copy.dir}: ${spread(summarize(copy.ms), ms)} ms CPU per fit; baseline ÷ this ${spread(ratio, (v) => `${v.toFixed(2)}×`)}`,
    );
  }
  console.log(`load average ${loadBefore} at start, ${load()} at end; ${rounds} rounds`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
