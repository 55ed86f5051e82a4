import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fitForest } from "../detector/isolation-forest.js";
import { createRandom } from "../detector/random.js";
import { type FitMatrix, findNslKdd, nslKddFitMatrix, telemetryFitMatrix } from "./fit-matrices.js";
import { startPythonWorker } from "./python-worker.js";
import { type TableRow, verdict } from "./report.js";
import { type Summary, summarize, wallSeconds } from "./stats.js";

/** Forest sizes the fit benchmark compares: scikit-learn's default and isotree's. */
export const FIT_SIZES = [
  { trees: 100, psi: 256 },
  { trees: 500, psi: 10_000 },
] as const;

/** Versions bench/fit-peers.py reports. */
export interface FitPeersInfo {
  rows: number;
  sklearn: string;
  isotree: string;
  numpy: string;
  python: string;
  threadpools: unknown[];
}

/** One matrix at one size: seconds per fit, each side, taking turns. */
export interface FitComparison {
  matrix: string;
  source: string;
  trees: number;
  psi: number;
  ours: Summary;
  isotree?: Summary;
  sklearn?: Summary;
  /** isotree's seconds ÷ ours, turn by turn: ≥ 1 means ours is as fast or faster. */
  isotreeOverOurs?: Summary;
  /** scikit-learn's seconds ÷ ours, turn by turn. */
  sklearnOverOurs?: Summary;
}

/** Results of `runFitBench`. */
export interface FitBenchResults {
  peers?: FitPeersInfo;
  command?: string;
  comparisons: FitComparison[];
}

/** Options of `runFitBench`. */
export interface FitBenchOptions {
  root: string;
  /** Turns at 500 × 10,000; three times as many at 100 × 256. */
  repeats: number;
  /** Python with scikit-learn, isotree and threadpoolctl; ours alone when undefined. */
  python?: string;
  log: (line: string) => void;
}

interface Peers {
  info: FitPeersInfo;
  fit(tool: "sklearn" | "isotree", trees: number, psi: number, seed: number): Promise<number>;
  close(): Promise<void>;
}

async function startPeers(python: string, m: FitMatrix, dir: string): Promise<Peers> {
  const matrixPath = join(dir, `${m.name}.f64`);
  const metaPath = join(dir, `${m.name}.json`);
  const { data } = m.x;
  await writeFile(matrixPath, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  await writeFile(metaPath, JSON.stringify({ matrixPath, nFeatures: m.x.nFeatures }));
  const script = new URL("./fit-peers.py", import.meta.url).pathname;
  const worker = startPythonWorker(python, script, metaPath, 1800);
  try {
    const info = await worker.next<FitPeersInfo>("versions");
    return {
      info,
      async fit(tool, trees, psi, seed) {
        return (await worker.ask<{ seconds: number }>(`fit ${tool} ${trees} ${psi} ${seed}`))
          .seconds;
      },
      close: () => worker.close(),
    };
  } catch (e) {
    await worker.kill();
    throw e;
  }
}

const ratios = (theirs: number[], ours: number[]): Summary =>
  summarize(theirs.map((t, i) => t / (ours[i] as number)));

/**
 * Times fitting a forest, one thread each: ours (`fitForest`), isotree
 * (`ndim=1`, `nthreads=1`) and scikit-learn, taking turns on the same matrix
 * with the same seed per turn, at 100 × 256 and 500 × 10,000, on NSL-KDD's
 * training file when it is present and on our telemetry features.
 */
export async function runFitBench(options: FitBenchOptions): Promise<FitBenchResults> {
  const { repeats, python, log } = options;
  const matrices: FitMatrix[] = [];
  const nslDir = findNslKdd(options.root);
  if (nslDir) matrices.push(await nslKddFitMatrix(nslDir));
  else log("fit: NSL-KDD is absent (set NSL_KDD_DIR); telemetry features only");
  matrices.push(telemetryFitMatrix());
  const dir = await mkdtemp(join(tmpdir(), "netanomaly-fit-"));
  const results: FitBenchResults = { comparisons: [] };
  try {
    for (const m of matrices) {
      const peers = python ? await startPeers(python, m, dir) : undefined;
      try {
        if (peers) {
          results.peers = peers.info;
          results.command = `OMP_NUM_THREADS=1 ${python} bench/fit-peers.py META.json`;
        }
        for (const { trees, psi } of FIT_SIZES) {
          log(`fit: ${m.name}, ${trees} × ${psi}`);
          // Warm-up: the JIT and the peers' first allocations.
          fitForest(m.x, createRandom(0), { nEstimators: Math.min(trees, 20), maxSamples: psi });
          const turns = psi <= 256 ? 3 * repeats : repeats;
          const ours: number[] = [];
          const iso: number[] = [];
          const sk: number[] = [];
          for (let seed = 1; seed <= turns; seed++) {
            ours.push(
              wallSeconds(() => {
                fitForest(m.x, createRandom(seed), { nEstimators: trees, maxSamples: psi });
              }),
            );
            if (peers) {
              iso.push(await peers.fit("isotree", trees, psi, seed));
              sk.push(await peers.fit("sklearn", trees, psi, seed));
            }
          }
          const c: FitComparison = {
            matrix: m.name,
            source: m.source,
            trees,
            psi,
            ours: summarize(ours),
          };
          if (peers) {
            c.isotree = summarize(iso);
            c.sklearn = summarize(sk);
            c.isotreeOverOurs = ratios(iso, ours);
            c.sklearnOverOurs = ratios(sk, ours);
          }
          results.comparisons.push(c);
        }
      } finally {
        await peers?.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

/** Goal of issue 22: at most isotree's time, at least 10× faster than scikit-learn. */
export const FIT_GOAL = { isotreeOverOurs: 1, sklearnOverOurs: 10 } as const;

/** The benchmark table's rows: one per matrix and size, with the verdict against the goal. */
export function fitRows(results: FitBenchResults): TableRow[] {
  const ms = (s: Summary) =>
    `${fixed(s.median * 1e3)} (${fixed(s.min * 1e3)}–${fixed(s.max * 1e3)}) ms`;
  const times = (s: Summary) => `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
  return results.comparisons.map((c) => {
    const base = {
      id: `fit.${c.matrix}.${c.trees}x${c.psi}`,
      what: `fit ${c.trees} trees × ψ ${c.psi}, ${c.source}: ours / isotree ${results.peers?.isotree ?? ""} / scikit-learn ${results.peers?.sklearn ?? ""}, 1 thread; their time ÷ ours`,
      goal: "isotree ÷ ours ≥ 1, scikit-learn ÷ ours ≥ 10",
    };
    if (!c.isotree || !c.sklearn || !c.isotreeOverOurs || !c.sklearnOverOurs)
      return { ...base, value: `ours ${ms(c.ours)}; peers unavailable`, verdict: "" };
    const met =
      verdict(c.isotreeOverOurs.median, "min", FIT_GOAL.isotreeOverOurs) === "ok" &&
      verdict(c.sklearnOverOurs.median, "min", FIT_GOAL.sklearnOverOurs) === "ok";
    return {
      ...base,
      value: `ours ${ms(c.ours)} / isotree ${ms(c.isotree)} / sklearn ${ms(c.sklearn)}; isotree ÷ ours ${times(c.isotreeOverOurs)}, sklearn ÷ ours ${times(c.sklearnOverOurs)}`,
      verdict: met ? "ok" : "MISS",
    };
  });
}

function fixed(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
