import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { formatDrift, runDriftBench } from "./drift-bench.js";
import { LOTL_EVAL_SEED, type LotlResult, runLotlBench } from "./lotl-bench.js";
import {
  type BenchRun,
  DEFAULT_FEATURES,
  DEFAULT_SIZE,
  FEATURE_SETS,
  type FeatureSetName,
  type ForestSize,
  PROTOCOLS,
  type Protocol,
  prepareRuns,
  SKLEARN_SIZE,
  SWEEP_SIZES,
} from "./nsl-kdd-bench.js";
import { NSL_KDD_TEST, readNslKdd } from "./nsl-kdd-data.js";
import { ensurePythonEnv } from "./python-env.js";
import { ROOT, runCli } from "./run-cli.js";
import { formatMeanSd, type MeanSd, meanSd } from "./stats.js";
import {
  FRESH_EVAL_SEED,
  runTelemetryBench,
  TELEMETRY_TRAIN,
  type TelemetryResult,
} from "./telemetry-bench.js";

/** The dataset's directory; `--nsl-kdd <dir>` points elsewhere (a git worktree has no ../shared). */
let NSL_KDD_DIR = join(ROOT, "..", "shared", "data", "nsl-kdd");
const RESULTS = join(ROOT, "bench", "results", "quality.json");
const SCRIPT = new URL("./sklearn_iforest.py", import.meta.url).pathname;

/** Goals from the quality issue. */
const GOALS = { telemetryRocAuc: 0.99, telemetryRecallAt1PctFpr: 0.9 };

interface PairedMetric {
  ours: MeanSd;
  sklearn: MeanSd;
  /** mean(ours) − mean(sklearn), with its standard error √(sd²ₒ/n + sd²ₛ/n). */
  difference: { mean: number; standardError: number; withinNoise: boolean };
}

interface NslKddRow {
  features: FeatureSetName;
  protocol: Protocol;
  fit_rows: number;
  n_features: number;
  roc_auc: PairedMetric;
  pr_auc: PairedMetric;
  /** |CLI − bench| for the first seed: the trainer + evaluator reproduce the bench's forest and sklearn's metrics. */
  cli_check: {
    roc_auc_cli: number;
    roc_auc_sklearn_metric: number;
    pr_auc_cli: number;
    pr_auc_sklearn_metric: number;
  };
}

interface PythonResult {
  versions: Record<string, string>;
  runs: {
    id: string;
    ours: Record<string, { roc_auc: number; pr_auc: number }>;
    peers: Record<string, { roc_auc: number; pr_auc: number; fit_ms: number; score_ms: number }>;
  }[];
}

const SKLEARN = "scikit-learn IsolationForest";

/** One detector on the default feature set and one protocol, over the seeds. */
interface DetectorRow {
  detector: string;
  /** Ours at the trainer's default size. */
  isDefault: boolean;
  roc_auc: MeanSd;
  pr_auc: MeanSd;
  fit_ms: MeanSd;
  score_ms: MeanSd;
}

/** Every detector on the trainer's default features, per protocol, and the goal's verdict. */
interface PeerTable {
  protocol: Protocol;
  fit_rows: number;
  n_features: number;
  rows: DetectorRow[];
  /** |CLI − bench| on the first seed, the CLI run with no size or feature flags. */
  cli_check: {
    roc_auc_cli: number;
    pr_auc_cli: number;
    roc_auc_bench: number;
    pr_auc_bench: number;
  };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * `npm run bench:quality`: detection quality of our Isolation Forest against
 * scikit-learn's on NSL-KDD (same feature matrices, same fit/test split, same
 * seeds), then on the project's labelled telemetry, then on a drifting stream
 * (frozen, retrained, `--learn`, River HalfSpaceTrees). Prints tables and writes
 * bench/results/quality.json.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seeds: { type: "string" }, only: { type: "string" }, "nsl-kdd": { type: "string" } },
  });
  if (values["nsl-kdd"] !== undefined) NSL_KDD_DIR = resolve(values["nsl-kdd"]);
  // --only nsl-kdd,telemetry,lotl,drift picks sections (default all).
  const sections = new Set((values.only ?? "nsl-kdd,telemetry,lotl,drift").split(","));
  for (const name of sections)
    if (!["nsl-kdd", "telemetry", "lotl", "drift"].includes(name))
      throw new Error(`--only takes nsl-kdd, telemetry, lotl, drift; got ${name}`);
  const nSeeds = Number(values.seeds ?? 5);
  if (!Number.isInteger(nSeeds) || nSeeds < 1 || nSeeds > 50) {
    throw new Error(`--seeds must be an integer in [1, 50], got ${values.seeds}`);
  }
  const seeds = Array.from({ length: nSeeds }, (_, i) => i);
  const dir = await mkdtemp(join(tmpdir(), "netanomaly-bench-quality-"));
  const results: Record<string, unknown> = { seeds };
  try {
    if (!sections.has("nsl-kdd")) {
      results.nsl_kdd = null;
    } else if (existsSync(join(NSL_KDD_DIR, NSL_KDD_TEST))) {
      const python = await ensurePythonEnv(log);
      const nsl = await runNslKdd(python, seeds, dir);
      results.nsl_kdd = nsl;
      process.stdout.write(formatNslKdd(nsl.rows, seeds, nsl.versions["scikit-learn"] ?? "?"));
      process.stdout.write(formatPeerTables(nsl.peer_tables, seeds, nsl.versions));
    } else {
      log(`bench: ${NSL_KDD_DIR} is absent; skipping the NSL-KDD comparison`);
      results.nsl_kdd = null;
    }
    if (existsSync(join(ROOT, TELEMETRY_TRAIN)) && sections.has("telemetry")) {
      log("bench: telemetry: training and evaluating with the trainer CLIs");
      const telemetry = await runTelemetryBench(seeds, dir);
      results.telemetry = telemetry;
      process.stdout.write(formatTelemetry(telemetry));
    }
    if (existsSync(join(ROOT, TELEMETRY_TRAIN)) && sections.has("lotl")) {
      log("bench: living off the land: ours and the peers on one labelled set per seed");
      const python = await ensurePythonEnv(log);
      const lotl = await runLotlBench(python, seeds, dir);
      results.living_off_the_land = lotl;
      process.stdout.write(formatLotl(lotl));
    }
    if (!existsSync(join(ROOT, TELEMETRY_TRAIN)))
      log(`bench: ${TELEMETRY_TRAIN} is absent; skipping the telemetry sections`);
    if (sections.has("drift")) {
      // The drift stream is simulated: it needs no data files. Three seeds at most (each is a 12-day stream).
      log("bench: drift: frozen model, periodic retraining, --learn and River HalfSpaceTrees");
      const drift = await runDriftBench(await ensurePythonEnv(log), seeds.slice(0, 3), dir, log);
      results.drift = drift;
      process.stdout.write(formatDrift(drift));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(join(ROOT, "bench", "results"), { recursive: true });
  // A partial run (--only) keeps the full run's file: its results go beside it.
  const out =
    values.only === undefined
      ? RESULTS
      : RESULTS.replace(/\.json$/, `-${[...sections].sort().join("-")}.json`);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nwrote ${relative(ROOT, out)}\n`);
}

async function runNslKdd(python: string, seeds: number[], dir: string) {
  log("bench: NSL-KDD: featurizing, fitting and timing our forests");
  const data = await readNslKdd(NSL_KDD_DIR);
  const runs = await prepareRuns(data, seeds, dir);
  const manifest = join(dir, "manifest.json");
  await writeFile(
    manifest,
    JSON.stringify({ labels: "labels.u8", runs: runs.map(({ fitIndices: _, ...run }) => run) }),
  );
  log(`bench: NSL-KDD: the peers on ${runs.length} runs (isotree ndim=2 takes ~10 s a run)`);
  const { stdout } = await promisify(execFile)(python, [SCRIPT, manifest], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const py = JSON.parse(stdout) as PythonResult;
  const byId = new Map(py.runs.map((r) => [r.id, r]));
  const rows: NslKddRow[] = [];
  for (const features of Object.keys(FEATURE_SETS) as FeatureSetName[]) {
    for (const protocol of PROTOCOLS) {
      const group = runs.filter((r) => r.features === features && r.protocol === protocol);
      const res = group.map((r) => byId.get(r.id) ?? fail(`python returned no result for ${r.id}`));
      const ours = (m: "roc_auc" | "pr_auc") =>
        meanSd(res.map((r) => (r.ours[SKLEARN_SIZE.name] ?? fail("no 100 × 256 forest"))[m]));
      const sk = (m: "roc_auc" | "pr_auc") =>
        meanSd(res.map((r) => (r.peers[SKLEARN] ?? fail("no scikit-learn result"))[m]));
      const paired = (m: "roc_auc" | "pr_auc"): PairedMetric => ({
        ours: ours(m),
        sklearn: sk(m),
        difference: differenceOfMeans(ours(m), sk(m)),
      });
      const first = group[0] as BenchRun;
      log(
        `bench: NSL-KDD: cross-checking ${features}/${protocol} seed ${first.seed} through the CLIs`,
      );
      const cli = await crossCheck(first, data.train.lines, dir, SKLEARN_SIZE, features);
      const firstOurs = res[0]?.ours[SKLEARN_SIZE.name] ?? fail("no runs");
      rows.push({
        features,
        protocol,
        fit_rows: first.fitRows,
        n_features: first.nFeatures,
        roc_auc: paired("roc_auc"),
        pr_auc: paired("pr_auc"),
        cli_check: {
          roc_auc_cli: cli.roc_auc,
          roc_auc_sklearn_metric: firstOurs.roc_auc,
          pr_auc_cli: cli.pr_auc,
          pr_auc_sklearn_metric: firstOurs.pr_auc,
        },
      });
    }
  }
  const peerTables: PeerTable[] = [];
  for (const protocol of PROTOCOLS) {
    const group = runs.filter((r) => r.features === DEFAULT_FEATURES && r.protocol === protocol);
    const res = group.map((r) => byId.get(r.id) ?? fail(`python returned no result for ${r.id}`));
    const detectors: DetectorRow[] = SWEEP_SIZES.map((size) => {
      const timing = group.map((r) => r.ours.find((o) => o.name === size.name) ?? fail(size.name));
      const metric = res.map((r) => r.ours[size.name] ?? fail(size.name));
      return {
        detector: `ours ${size.name}${size === DEFAULT_SIZE ? " (default)" : ""}`,
        isDefault: size === DEFAULT_SIZE,
        roc_auc: meanSd(metric.map((m) => m.roc_auc)),
        pr_auc: meanSd(metric.map((m) => m.pr_auc)),
        fit_ms: meanSd(timing.map((t) => t.fitMs)),
        score_ms: meanSd(timing.map((t) => t.scoreMs)),
      };
    });
    for (const peer of Object.keys(res[0]?.peers ?? {})) {
      const m = res.map((r) => r.peers[peer] ?? fail(`${peer} missing`));
      detectors.push({
        detector: peer,
        isDefault: false,
        roc_auc: meanSd(m.map((x) => x.roc_auc)),
        pr_auc: meanSd(m.map((x) => x.pr_auc)),
        fit_ms: meanSd(m.map((x) => x.fit_ms)),
        score_ms: meanSd(m.map((x) => x.score_ms)),
      });
    }
    const first = group[0] as BenchRun;
    log(`bench: NSL-KDD: cross-checking the trainer's defaults (${protocol}, seed ${first.seed})`);
    const cli = await crossCheck(first, data.train.lines, dir);
    const bench = res[0]?.ours[DEFAULT_SIZE.name] ?? fail("no default forest");
    peerTables.push({
      protocol,
      fit_rows: first.fitRows,
      n_features: first.nFeatures,
      rows: detectors,
      cli_check: {
        roc_auc_cli: cli.roc_auc,
        pr_auc_cli: cli.pr_auc,
        roc_auc_bench: bench.roc_auc,
        pr_auc_bench: bench.pr_auc,
      },
    });
  }
  return { versions: py.versions, rows, peer_tables: peerTables };
}

/**
 * Trains on the run's fit rows with `npm run train -- --format nsl-kdd` and
 * evaluates on the test file with `npm run evaluate`: both must reproduce the
 * bench's forest, and our metrics must equal sklearn's on its scores. With no
 * size and features given, the CLI runs on its own defaults.
 */
async function crossCheck(
  run: BenchRun,
  trainLines: readonly string[],
  dir: string,
  size?: ForestSize,
  features?: FeatureSetName,
) {
  const fit = join(dir, `${run.id}.fit.txt`);
  await writeFile(fit, `${Array.from(run.fitIndices, (i) => trainLines[i]).join("\n")}\n`);
  const model = join(dir, `${run.id}-${size?.trees ?? "default"}.model.json`);
  const common = ["--format", "nsl-kdd"];
  await runCli("trainer/main.ts", [
    ...common,
    ...(features === undefined ? [] : ["--features", features]),
    ...(size === undefined
      ? []
      : ["--trees", String(size.trees), "--sample-size", String(size.samples)]),
    "--data",
    fit,
    "--out",
    model,
    "--seed",
    String(run.seed),
    "--quiet",
  ]);
  const out = await runCli("trainer/evaluate-main.ts", [
    ...common,
    "--model",
    model,
    "--data",
    join(NSL_KDD_DIR, NSL_KDD_TEST),
    "--json",
    "--quiet",
  ]);
  return JSON.parse(out) as { roc_auc: number; pr_auc: number };
}

function formatNslKdd(rows: NslKddRow[], seeds: number[], sklearnVersion: string): string {
  const lines = [
    "",
    `NSL-KDD: fit on KDDTrain+_20Percent, score KDDTest+; attack = positive; seeds ${seeds.join(",")}; ${SKLEARN_SIZE.name} (trees × samples) for both`,
    `ours vs scikit-learn ${sklearnVersion} IsolationForest on the same feature matrices; Δ = mean ours − mean sklearn ± its standard error`,
    "",
    "(* = differs by more than 2 standard errors)",
    "",
    `${"features".padEnd(9)}${"protocol".padEnd(14)}${"fit rows".padStart(9)}  ${"ROC-AUC ours".padEnd(18)}${"ROC-AUC sklearn".padEnd(18)}${"Δ ROC-AUC".padEnd(19)}${"PR-AUC ours".padEnd(18)}${"PR-AUC sklearn".padEnd(18)}Δ PR-AUC`,
  ];
  for (const r of rows) {
    lines.push(
      `${r.features.padEnd(9)}${r.protocol.padEnd(14)}${String(r.fit_rows).padStart(9)}  ${formatMeanSd(r.roc_auc.ours).padEnd(18)}${formatMeanSd(r.roc_auc.sklearn).padEnd(18)}${signed(r.roc_auc.difference).padEnd(19)}${formatMeanSd(r.pr_auc.ours).padEnd(18)}${formatMeanSd(r.pr_auc.sklearn).padEnd(18)}${signed(r.pr_auc.difference)}`,
    );
  }
  const worst = Math.max(
    ...rows.flatMap((r) => [
      Math.abs(r.cli_check.roc_auc_cli - r.cli_check.roc_auc_sklearn_metric),
      Math.abs(r.cli_check.pr_auc_cli - r.cli_check.pr_auc_sklearn_metric),
    ]),
  );
  lines.push(
    "",
    `CLI cross-check (npm run train/evaluate on seed ${seeds[0]} vs the bench's forest scored by sklearn.metrics): max |Δ| = ${worst.toExponential(2)}${worst < 1e-9 ? " (ok)" : " (MISMATCH)"}`,
    `mean ROC-AUC: ours ≥ sklearn on ${rows.filter((r) => r.roc_auc.difference.mean >= 0).length} of ${rows.length} rows; ` +
      `ours ≥ sklearn or within 2 standard errors on ${rows.filter((r) => r.roc_auc.difference.mean >= 0 || r.roc_auc.difference.withinNoise).length} of ${rows.length}`,
  );
  return `${lines.join("\n")}\n`;
}

/**
 * The goal's table: on the trainer's default features, our forests at each
 * size of the sweep beside every peer at its defaults; mean ± sd over seeds,
 * fit and score times in ms (one thread; ours' fit includes compiling), and
 * whether our default reaches the best peer on each metric.
 */
function formatPeerTables(
  tables: PeerTable[],
  seeds: number[],
  versions: Record<string, string>,
): string {
  const lines = [
    "",
    `NSL-KDD, the trainer's defaults (--features ${DEFAULT_FEATURES}, ${DEFAULT_SIZE.name}) beside the peers at their defaults, on the same matrices; seeds ${seeds.join(",")}`,
    `peers: ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ", ",
      )}; one thread; fit and score times are means in ms (score = the 22,544 KDDTest+ rows)`,
  ];
  for (const t of tables) {
    lines.push(
      "",
      `${t.protocol}: ${t.fit_rows} fit rows, ${t.n_features} features`,
      `${"detector".padEnd(30)}${"ROC-AUC".padEnd(18)}${"PR-AUC".padEnd(18)}${"fit ms".padStart(8)}${"score ms".padStart(10)}`,
    );
    for (const r of t.rows) {
      lines.push(
        `${r.detector.padEnd(30)}${formatMeanSd(r.roc_auc).padEnd(18)}${formatMeanSd(r.pr_auc).padEnd(18)}${r.fit_ms.mean.toFixed(0).padStart(8)}${r.score_ms.mean.toFixed(0).padStart(10)}`,
      );
    }
    const ours = t.rows.find((r) => r.isDefault) ?? fail("no default row");
    const peers = t.rows.filter((r) => !r.detector.startsWith("ours "));
    for (const m of ["roc_auc", "pr_auc"] as const) {
      const best = peers.reduce((a, b) => (b[m].mean > a[m].mean ? b : a));
      const d = ours[m].mean - best[m].mean;
      const se = Math.sqrt((ours[m].sd ** 2 + best[m].sd ** 2) / ours[m].values.length);
      const verdict = d >= 0 ? "met" : Math.abs(d) <= 2 * se ? "MISSED (within 2 se)" : "MISSED";
      lines.push(
        `goal ${m === "roc_auc" ? "ROC-AUC" : "PR-AUC"}: ours (default) ${ours[m].mean.toFixed(4)} vs best peer ${best.detector} ${best[m].mean.toFixed(4)}: ${d >= 0 ? "+" : ""}${d.toFixed(4)} ± ${se.toFixed(4)}  ${verdict}`,
      );
    }
    const worst = Math.max(
      Math.abs(t.cli_check.roc_auc_cli - t.cli_check.roc_auc_bench),
      Math.abs(t.cli_check.pr_auc_cli - t.cli_check.pr_auc_bench),
    );
    lines.push(
      `CLI cross-check (npm run train -- --format nsl-kdd with no other flag, seed ${seeds[0]}): max |Δ| = ${worst.toExponential(2)}${worst < 1e-9 ? " (ok)" : " (MISMATCH)"}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function formatTelemetry(t: TelemetryResult): string {
  const fpr = `${t.target_fpr * 100}% FPR`;
  const lines = [
    "",
    `Telemetry: train on ${TELEMETRY_TRAIN} (normal only) with seed s, evaluate on a fresh labelled set (npm run generate:data -- --eval-seed ${FRESH_EVAL_SEED}+s); seeds ${t.seeds.join(",")}; default parameters; rows = mean per set`,
    "",
    `ROC-AUC            ${formatMeanSd(t.roc_auc)}   goal ≥ ${GOALS.telemetryRocAuc}${t.roc_auc.mean >= GOALS.telemetryRocAuc ? " (met)" : " (MISSED)"}`,
    `PR-AUC             ${formatMeanSd(t.pr_auc)}`,
    `recall @ model thr ${formatMeanSd(t.recall)}   (FPR there ${formatMeanSd(t.false_positive_rate)})`,
    `recall @ ${fpr.padEnd(9)} ${formatMeanSd(t.recall_at_target_fpr)}`,
    "",
    `${"scenario".padEnd(20)}${"rows".padStart(6)}  ${"recall @ model thr".padEnd(20)}${`recall @ ${fpr}`.padEnd(20)}goal ≥ ${GOALS.telemetryRecallAt1PctFpr} @ ${fpr}`,
  ];
  for (const [name, s] of Object.entries(t.per_scenario)) {
    const met = Math.min(...s.recall_at_target_fpr.values) >= GOALS.telemetryRecallAt1PctFpr;
    lines.push(
      `${name.padEnd(20)}${String(s.rows).padStart(6)}  ${formatMeanSd(s.recall).padEnd(20)}${formatMeanSd(s.recall_at_target_fpr).padEnd(20)}${met ? "met" : "MISSED"}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function formatLotl(t: LotlResult): string {
  const scenarios = Object.keys(t.rows[0]?.per_scenario ?? {}).sort();
  const peers = Object.entries(t.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const lines = [
    "",
    `Living off the land: train on ${TELEMETRY_TRAIN} (normal only), score a labelled set of 30,000 events (10 % attacks, the 7 default scenarios and 4 that live off the land; simulator seed ${LOTL_EVAL_SEED}+s); seeds ${t.seeds.join(",")}`,
    `recall at 1% FPR on the set's own normal traffic, mean over seeds; peers: ${peers}`,
    "",
    [
      "detector".padEnd(30),
      "matrix".padEnd(14),
      "ROC-AUC".padEnd(8),
      ...scenarios.map((s) => s.slice(0, 16).padEnd(17)),
    ].join(""),
  ];
  for (const r of t.rows) {
    lines.push(
      [
        r.detector.padEnd(30),
        r.matrix.padEnd(14),
        r.roc_auc.mean.toFixed(4).padEnd(8),
        ...scenarios.map((s) => (r.per_scenario[s]?.mean ?? Number.NaN).toFixed(2).padEnd(17)),
      ].join(""),
    );
  }
  lines.push("", "top contribution of our flagged events (first seed):");
  for (const [s, tops] of Object.entries(t.top_features).sort()) {
    const parts = Object.entries(tops)
      .sort((a, b) => b[1] - a[1])
      .map(([f, n]) => `${f} ${n}`);
    lines.push(`  ${s.padEnd(18)}${parts.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

function signed(d: PairedMetric["difference"]): string {
  return `${d.mean >= 0 ? "+" : ""}${d.mean.toFixed(4)} ± ${d.standardError.toFixed(4)}${d.withinNoise ? "" : " *"}`;
}

/**
 * Difference of two means over independent runs (the seeds do not pair the
 * two forests' random streams), flagged as noise within 2 standard errors.
 */
function differenceOfMeans(ours: MeanSd, theirs: MeanSd): PairedMetric["difference"] {
  const n = ours.values.length;
  const standardError = Math.sqrt((ours.sd ** 2 + theirs.sd ** 2) / n);
  const mean = ours.mean - theirs.mean;
  return { mean, standardError, withinNoise: Math.abs(mean) <= 2 * standardError };
}

function fail(message: string): never {
  throw new Error(message);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
