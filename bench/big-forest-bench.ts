import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import {
  COMPLETE_LAYOUT_MAX_DEPTH,
  type CompiledForest,
  compileForest,
} from "../detector/compiled-forest.js";
import { fitForest, type Matrix } from "../detector/isolation-forest.js";
import { createRandom } from "../detector/random.js";
import { type FitMatrix, findNslKdd, nslKddFitMatrix, telemetryFitMatrix } from "./fit-matrices.js";
import { startPythonWorker } from "./python-worker.js";
import { fmt, fmtRates, type TableRow, verdict } from "./report.js";
import { type Rates, type Summary, si, summarize, timeRuns, wallSeconds } from "./stats.js";

/** The forest size of issue 22's goal 2: isotree's default, depth limit ceil(log2 ψ) = 14. */
export const BIG_FOREST = { trees: 500, psi: 10_000 } as const;

/** Goal of issue 22: ≥ 3× scikit-learn (one thread), ≥ isotree on all cores. */
export const BIG_FOREST_GOAL = { overSklearn: 3, overIsotree: 1 } as const;

/** Turns (ours, scikit-learn, isotree) per repeat. */
const TURNS_PER_REPEAT = 3;

/** What bench/score-peers.py reports once its forests are fitted. */
export interface ScorePeersInfo {
  rows: number;
  trainRows: number;
  sklearn: string;
  isotree: string;
  numpy: string;
  python: string;
  sklearnNodes: number;
  sklearnMaxDepth: number;
  threadpools: unknown[];
}

/** One matrix: rows per second of each side, taking turns, and the ratios turn by turn. */
export interface BigForestComparison {
  matrix: string;
  source: string;
  /** Rows scored per run. */
  rows: number;
  trees: number;
  psi: number;
  depth: number;
  /** Nodes of our forest, all trees. */
  nodes: number;
  layout: CompiledForest["layout"];
  kernel: CompiledForest["kernel"];
  /** `compileForest` as chosen by depth, one thread. */
  ours: Rates;
  /** The same forest forced into the complete layout (the layout every forest had before). */
  complete: Rates;
  /** Seconds `compileForest` took, each layout. */
  compileSeconds: { chosen: number; complete: number };
  peers?: ScorePeersInfo;
  isotreeThreads?: number;
  sklearn?: Rates;
  isotree?: Rates;
  /** Ours ÷ theirs, turn by turn (wall clock). */
  overSklearn?: Summary;
  overIsotree?: Summary;
}

/** Both layouts on one forest either side of `COMPLETE_LAYOUT_MAX_DEPTH`, our telemetry rows. */
export interface LayoutPoint {
  trees: number;
  psi: number;
  depth: number;
  chosen: CompiledForest["layout"];
  complete: Rates;
  nodes: Rates;
}

/** Results of `runBigForestBench`. */
export interface BigForestResults {
  comparisons: BigForestComparison[];
  /** The layouts around the depth where `compileForest` switches. */
  layouts: LayoutPoint[];
  command?: string;
}

/** Options of `runBigForestBench`. */
export interface BigForestOptions {
  root: string;
  repeats: number;
  /** Held-out telemetry events scored per run. */
  scoreEvents: number;
  /** Python with scikit-learn, isotree and threadpoolctl; ours alone when undefined. */
  python?: string;
  log: (line: string) => void;
}

interface Peers {
  info: ScorePeersInfo;
  score(tool: "sklearn" | "isotree"): Promise<{ wall: number; cpu: number }>;
  close(): Promise<void>;
}

async function startPeers(
  python: string,
  m: FitMatrix,
  dir: string,
  threads: number,
): Promise<Peers> {
  const trainPath = join(dir, `${m.name}-train.f64`);
  const rowsPath = join(dir, `${m.name}-rows.f64`);
  const metaPath = join(dir, `${m.name}-score.json`);
  const bytes = (x: Matrix) => new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
  await writeFile(trainPath, bytes(m.x));
  await writeFile(rowsPath, bytes(m.rows));
  await writeFile(
    metaPath,
    JSON.stringify({
      trainPath,
      rowsPath,
      nFeatures: m.x.nFeatures,
      trees: BIG_FOREST.trees,
      psi: BIG_FOREST.psi,
      seed: 1,
      threads,
    }),
  );
  const script = new URL("./score-peers.py", import.meta.url).pathname;
  const worker = startPythonWorker(python, script, metaPath, 1800);
  try {
    const info = await worker.next<ScorePeersInfo>("fitted forests");
    return {
      info,
      async score(tool) {
        const r = await worker.ask<{ rowsPerSecond: number; rowsPerCpuSecond: number }>(
          `score ${tool}`,
        );
        return { wall: r.rowsPerSecond, cpu: r.rowsPerCpuSecond };
      },
      close: () => worker.close(),
    };
  } catch (e) {
    await worker.kill();
    throw e;
  }
}

/** Rows per second of one run of `f` over `items` rows, wall clock and CPU. */
function rateOnce(items: number, f: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const seconds = wallSeconds(f);
  const c = process.cpuUsage(c0);
  return { wall: items / seconds, cpu: items / ((c.user + c.system) / 1e6) };
}

const rates = (runs: { wall: number; cpu: number }[]): Rates => ({
  wall: summarize(runs.map((r) => r.wall)),
  cpu: summarize(runs.map((r) => r.cpu)),
});

/**
 * Times scoring with a big forest (500 trees × ψ 10,000, depth limit 14):
 * ours, one thread, with the layout `compileForest` chooses and with the
 * complete layout; scikit-learn's `score_samples` (one thread) and isotree's
 * `predict` (all cores) on forests of the same size fitted on the same
 * matrix, taking turns on the same held-out rows. Our two layouts' scores
 * are checked equal, bit for bit, before anything is timed.
 */
export async function runBigForestBench(options: BigForestOptions): Promise<BigForestResults> {
  const { repeats, python, log } = options;
  const matrices: FitMatrix[] = [];
  const nslDir = findNslKdd(options.root);
  if (nslDir) matrices.push(await nslKddFitMatrix(nslDir));
  else log("bigforest: NSL-KDD is absent (set NSL_KDD_DIR); telemetry features only");
  matrices.push(telemetryFitMatrix(options.scoreEvents));
  const threads = cpus().length;
  const dir = await mkdtemp(join(tmpdir(), "netanomaly-bigforest-"));
  const results: BigForestResults = { comparisons: [], layouts: [] };
  try {
    for (const m of matrices) {
      log(`bigforest: ${m.name}, fitting ${BIG_FOREST.trees} × ${BIG_FOREST.psi}`);
      const forest = fitForest(m.x, createRandom(1), {
        nEstimators: BIG_FOREST.trees,
        maxSamples: BIG_FOREST.psi,
      });
      let chosen: CompiledForest | undefined;
      let complete: CompiledForest | undefined;
      const compileSeconds = {
        chosen: wallSeconds(() => {
          chosen = compileForest(forest);
        }),
        complete: wallSeconds(() => {
          complete = compileForest(forest, { layout: "complete" });
        }),
      };
      if (!chosen || !complete) throw new Error("compileForest returned nothing");
      const ours = chosen;
      const old = complete;
      const rows = m.rows;
      const out = new Float64Array(rows.nRows);
      const check = new Float64Array(rows.nRows);
      ours.scoreRows(rows, out);
      old.scoreRows(rows, check);
      for (let i = 0; i < rows.nRows; i++) {
        if (!Object.is(out[i], check[i]))
          throw new Error(`bigforest: row ${i} scores ${out[i]} (${ours.layout}) vs ${check[i]}`);
      }
      const completeRates = timeRuns(Math.max(2, Math.ceil(repeats / 2)), rows.nRows, () =>
        old.scoreRows(rows, check),
      );
      complete = undefined; // 256 MiB of complete trees: let it go before the peers start
      const peers = python ? await startPeers(python, m, dir, threads) : undefined;
      try {
        const turns = TURNS_PER_REPEAT * repeats;
        const run = () => ours.scoreRows(rows, out);
        run();
        const mine: { wall: number; cpu: number }[] = [];
        const sk: { wall: number; cpu: number }[] = [];
        const iso: { wall: number; cpu: number }[] = [];
        log(`bigforest: ${m.name}, ${turns} turns on ${rows.nRows} rows`);
        for (let i = 0; i < turns; i++) {
          mine.push(rateOnce(rows.nRows, run));
          if (peers) {
            sk.push(await peers.score("sklearn"));
            iso.push(await peers.score("isotree"));
          }
        }
        const c: BigForestComparison = {
          matrix: m.name,
          source: m.source,
          rows: rows.nRows,
          trees: BIG_FOREST.trees,
          psi: forest.maxSamples,
          depth: forest.maxDepth,
          nodes: forest.trees.reduce((n, t) => n + t.feature.length, 0),
          layout: ours.layout,
          kernel: ours.kernel,
          ours: rates(mine),
          complete: completeRates,
          compileSeconds,
        };
        if (peers) {
          c.peers = peers.info;
          c.isotreeThreads = threads;
          c.sklearn = rates(sk);
          c.isotree = rates(iso);
          c.overSklearn = summarize(mine.map((r, i) => r.wall / (sk[i] as { wall: number }).wall));
          c.overIsotree = summarize(mine.map((r, i) => r.wall / (iso[i] as { wall: number }).wall));
          results.command = `OMP_NUM_THREADS=1 ${python} bench/score-peers.py META.json`;
        }
        results.comparisons.push(c);
      } finally {
        await peers?.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const telemetry = matrices[matrices.length - 1] as FitMatrix;
  for (const depth of [COMPLETE_LAYOUT_MAX_DEPTH, COMPLETE_LAYOUT_MAX_DEPTH + 1]) {
    const psi = 2 ** depth;
    log(`bigforest: layouts at 100 × ${psi}`);
    const forest = fitForest(telemetry.x, createRandom(1), { nEstimators: 100, maxSamples: psi });
    const rows = telemetry.rows;
    const out = new Float64Array(rows.nRows);
    const [complete, nodes] = (["complete", "nodes"] as const).map((layout) => {
      const f = compileForest(forest, { layout });
      return timeRuns(repeats, rows.nRows, () => f.scoreRows(rows, out));
    }) as [Rates, Rates];
    results.layouts.push({
      trees: 100,
      psi,
      depth: forest.maxDepth,
      chosen: compileForest(forest).layout,
      complete,
      nodes,
    });
  }
  return results;
}

/** The benchmark table's rows: per matrix, the rates, and the ratios with their verdicts. */
export function bigForestRows(results: BigForestResults): TableRow[] {
  const times = (s: Summary) => `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
  const layouts = results.layouts.map(
    (p): TableRow => ({
      id: `bigforest.layout.${p.psi}`,
      what: `layouts at ${p.trees} trees × ψ ${p.psi} (depth ${p.depth}), telemetry: complete vs nodes, rows/s (compileForest picks ${p.chosen})`,
      value: `${fmt(p.complete.wall)} vs ${fmt(p.nodes.wall)}`,
      goal: "",
      verdict: "",
    }),
  );
  return results.comparisons
    .flatMap((c): TableRow[] => {
      const id = `bigforest.${c.matrix}`;
      const shape = `${c.trees} trees × ψ ${c.psi} (depth ${c.depth}, ${si(c.nodes / c.trees)} nodes/tree), ${c.source}, ${si(c.rows)} held-out rows`;
      const rows: TableRow[] = [
        {
          id: `${id}.ours`,
          what: `big forest, ${shape}: ours (${c.layout} layout, ${c.kernel} kernel, 1 thread), rows/s`,
          value: fmtRates(c.ours, ""),
          goal: "",
          verdict: "",
        },
        {
          id: `${id}.complete`,
          what: `  same forest, complete layout (before), rows/s; scores equal bit for bit`,
          value: fmtRates(c.complete, ""),
          goal: "",
          verdict: "",
        },
      ];
      if (!c.sklearn || !c.isotree || !c.overSklearn || !c.overIsotree || !c.peers) {
        rows.push({
          id: `${id}.peers`,
          what: "  peers",
          value: "unavailable",
          goal: "",
          verdict: "",
        });
        return rows;
      }
      rows.push(
        {
          id: `${id}.sklearn`,
          what: `  scikit-learn ${c.peers.sklearn} score_samples, 1 thread, rows/s; ours ÷ it, turn by turn`,
          value: `${fmt(c.sklearn.wall)}; ${times(c.overSklearn)}`,
          goal: `≥ ${BIG_FOREST_GOAL.overSklearn}×`,
          verdict: verdict(c.overSklearn.median, "min", BIG_FOREST_GOAL.overSklearn),
        },
        {
          id: `${id}.isotree`,
          what: `  isotree ${c.peers.isotree} predict, nthreads=${c.isotreeThreads}, rows/s; ours ÷ it, turn by turn`,
          value: `${fmt(c.isotree.wall)}; ${times(c.overIsotree)}`,
          goal: `≥ ${BIG_FOREST_GOAL.overIsotree}×`,
          verdict: verdict(c.overIsotree.median, "min", BIG_FOREST_GOAL.overIsotree),
        },
      );
      return rows;
    })
    .concat(layouts);
}
