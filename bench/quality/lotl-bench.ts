import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  createDetector,
  createTelemetryFeaturizer,
  parseModel,
  sealModel,
  serializeModel,
} from "../../detector/index.js";
import type { NetworkEvent } from "../../gen/netanomaly/v1/telemetry_pb.js";
import { readCsvRows } from "../../sources/csv-rows.js";
import { eventFromRecord, recordFromEvent, TELEMETRY_COLUMNS } from "../../telemetry/index.js";
import { ALL_SCENARIOS } from "../../telemetry/scenarios.js";
import { LOTL_SCENARIOS } from "../../telemetry/scenarios-lotl.js";
import { createSimulator } from "../../telemetry/simulator.js";
import { evaluateScores } from "../../trainer/evaluation.js";
import { scoreFile } from "../../trainer/score-file.js";
import { runCli } from "./run-cli.js";
import { type MeanSd, meanSd } from "./stats.js";
import { TELEMETRY_TRAIN } from "./telemetry-bench.js";

const PEERS_SCRIPT = new URL("./lotl_peers.py", import.meta.url).pathname;

/** Simulator seed of the labelled set for forest seed s: LOTL_EVAL_SEED + s. */
export const LOTL_EVAL_SEED = 2000;
/** Events per labelled set, a tenth of them attacks. */
const EVAL_EVENTS = 30_000;
const TARGET_FPR = 0.01;

/** One detector's results over seeds. */
export interface LotlRow {
  detector: string;
  matrix: string;
  roc_auc: MeanSd;
  per_scenario: Record<string, MeanSd>;
}

/** The living-off-the-land table. */
export interface LotlResult {
  seeds: number[];
  rows: LotlRow[];
  /** Top contribution of our model's flagged events, per new scenario (first seed). */
  top_features: Record<string, Record<string, number>>;
  versions: Record<string, string>;
}

/**
 * Trains on the normal telemetry (`data/telemetry.csv`) and scores a fresh
 * labelled set with every scenario, the seven default ones and the four
 * that live off the land, for: our model through the CLIs (with and without
 * its context tails), and the peers on our feature matrix and on a plain
 * recipe (log bytes, port, hour, one-hot process, parent, user, protocol).
 * Recall per scenario is at 1 % FPR on the set's own normal traffic.
 */
export async function runLotlBench(
  python: string | undefined,
  seeds: readonly number[],
  dir: string,
): Promise<LotlResult> {
  const train = await readEvents(
    join(new URL("../../", import.meta.url).pathname, TELEMETRY_TRAIN),
  );
  const perDetector = new Map<string, { roc: number[]; scen: Record<string, number[]> }>();
  const add = (
    detector: string,
    matrix: string,
    scores: Float64Array,
    labels: Uint8Array,
    scen: string[],
  ) => {
    const r = evaluateScores(scores, labels, scen, Number.POSITIVE_INFINITY, TARGET_FPR);
    const key = `${detector}\u0000${matrix}`;
    const d = perDetector.get(key) ?? { roc: [], scen: {} };
    d.roc.push(r.roc_auc ?? Number.NaN);
    for (const [name, s] of Object.entries(r.per_scenario ?? {})) {
      if (name === "") continue;
      const list = d.scen[name] ?? [];
      list.push(s.recall_at_target_fpr ?? Number.NaN);
      d.scen[name] = list;
    }
    perDetector.set(key, d);
  };
  const manifest: { runs: { id: string; seed: number; train: string; test: string }[] } = {
    runs: [],
  };
  const truth = new Map<string, { labels: Uint8Array; scen: string[] }>();
  const topFeatures: LotlResult["top_features"] = {};
  for (const seed of seeds) {
    const { events, labels, scen } = labelledSet(LOTL_EVAL_SEED + seed);
    const evalCsv = join(dir, `lotl-${seed}.csv`);
    await writeCsv(evalCsv, events, scen);
    const model = join(dir, `lotl-${seed}.model.json`);
    await runCli("trainer/main.ts", [
      "--data",
      TELEMETRY_TRAIN,
      "--out",
      model,
      "--seed",
      String(seed),
      "--quiet",
    ]);
    const plainModel = join(dir, `lotl-${seed}-no-tails.model.json`);
    const full = parseModel(await readFile(model, "utf8"));
    const { tails: _, ...forestOnly } = full.featureSpec as typeof full.featureSpec & {
      tails?: unknown;
    };
    await writeFile(plainModel, serializeModel(sealModel({ ...full, featureSpec: forestOnly })));
    for (const [name, file] of [
      ["ours (forest + context tails)", model],
      ["ours, forest only", plainModel],
    ] as const) {
      const scores = await scoreCsv(file, evalCsv);
      add(name, "our features", scores, labels, scen);
    }
    if (seed === seeds[0]) Object.assign(topFeatures, await topContributions(model, events, scen));
    if (python !== undefined) {
      const spec = parseModel(await readFile(model, "utf8")).featureSpec;
      if (spec.kind !== "telemetry") throw new Error("expected a telemetry model");
      const f = createTelemetryFeaturizer(spec);
      const ours = (es: readonly NetworkEvent[]) =>
        matrixOf(es, f.nFeatures, (e, out) => f.featurize(e, out));
      const recipe = plainRecipe(train);
      for (const [matrix, fn] of [
        ["our features", ours],
        ["plain recipe", recipe],
      ] as const) {
        const id = `${seed}\u0000${matrix}`;
        const trainPath = join(dir, `lotl-${seed}-${matrix.replace(" ", "-")}-train.csv`);
        const testPath = join(dir, `lotl-${seed}-${matrix.replace(" ", "-")}-test.csv`);
        await writeFile(trainPath, fn(train));
        await writeFile(testPath, fn(events));
        manifest.runs.push({ id, seed, train: trainPath, test: testPath });
        truth.set(id, { labels, scen });
      }
    }
  }
  let versions: Record<string, string> = {};
  if (python !== undefined) {
    const manifestPath = join(dir, "lotl-manifest.json");
    await writeFile(manifestPath, JSON.stringify(manifest));
    const { stdout } = await promisify(execFile)(python, [PEERS_SCRIPT, manifestPath], {
      maxBuffer: 1 << 30,
    });
    const out = JSON.parse(stdout) as {
      versions: Record<string, string>;
      runs: { id: string; peer: string; scores: number[] }[];
    };
    versions = out.versions;
    for (const r of out.runs) {
      const t = truth.get(r.id);
      if (t === undefined) throw new Error(`python returned an unknown run ${r.id}`);
      add(r.peer, r.id.split("\u0000")[1] as string, Float64Array.from(r.scores), t.labels, t.scen);
    }
  }
  const rows: LotlRow[] = [...perDetector].map(([key, d]) => {
    const [detector, matrix] = key.split("\u0000") as [string, string];
    return {
      detector,
      matrix,
      roc_auc: meanSd(d.roc),
      per_scenario: Object.fromEntries(Object.entries(d.scen).map(([k, v]) => [k, meanSd(v)])),
    };
  });
  return { seeds: [...seeds], rows, top_features: topFeatures, versions };
}

/** A labelled set from the simulator with every scenario, the default and the new. */
function labelledSet(seed: number) {
  const sim = createSimulator({
    seed,
    anomalyRate: 0.1,
    scenarios: ALL_SCENARIOS,
    startMs: Date.UTC(2024, 11, 16),
  });
  const events: NetworkEvent[] = [];
  const labels = new Uint8Array(EVAL_EVENTS);
  const scen: string[] = [];
  for (let i = 0; i < EVAL_EVENTS; i++) {
    const { event, label } = sim.next();
    events.push(event);
    labels[i] = label === "normal" ? 0 : 1;
    scen.push(label === "normal" ? "" : label);
  }
  return { events, labels, scen };
}

async function readEvents(path: string): Promise<NetworkEvent[]> {
  const out: NetworkEvent[] = [];
  for await (const { record } of readCsvRows(path, { onSkip: () => {} }))
    out.push(eventFromRecord(record));
  return out;
}

async function writeCsv(path: string, events: readonly NetworkEvent[], scen: readonly string[]) {
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const lines = [[...TELEMETRY_COLUMNS, "label", "scenario"].join(",")];
  events.forEach((e, i) => {
    const s = scen[i] as string;
    lines.push(
      [...recordFromEvent(e).map(quote), s === "" ? "0" : "1", s === "" ? "normal" : s].join(","),
    );
  });
  await writeFile(path, `${lines.join("\n")}\n`);
}

/** Scores a labelled CSV with the evaluator's own file scorer, as `npm run evaluate` does. */
async function scoreCsv(model: string, csv: string): Promise<Float64Array> {
  const m = parseModel(await readFile(model, "utf8"));
  const scored = await scoreFile(csv, m, {
    format: "telemetry",
    labelColumn: undefined,
    scenarioColumn: undefined,
    onBadRow: () => {},
    progress: { tick() {}, done() {} },
  });
  return scored.scores;
}

/** How often each feature is the top contribution of a caught event, per new scenario. */
async function topContributions(
  model: string,
  events: readonly NetworkEvent[],
  scen: readonly string[],
) {
  const d = createDetector(parseModel(await readFile(model, "utf8")));
  const out: Record<string, Record<string, number>> = {};
  events.forEach((e, i) => {
    const s = scen[i] as string;
    if (!(LOTL_SCENARIOS as readonly string[]).includes(s)) return;
    const r = d.scoreAndExplain(e, 1);
    if (r.score < d.threshold) return;
    const top = r.contributions[0]?.feature ?? "?";
    const row = out[s] ?? {};
    row[top] = (row[top] ?? 0) + 1;
    out[s] = row;
  });
  return out;
}

function matrixOf(
  events: readonly NetworkEvent[],
  width: number,
  fill: (e: NetworkEvent, out: Float64Array) => void,
): string {
  const row = new Float64Array(width);
  const lines: string[] = [];
  for (const e of events) {
    fill(e, row);
    lines.push(Array.from(row, (v) => (Number.isFinite(v) ? String(v) : "0")).join(","));
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The plain recipe, fitted on the training events: log bytes sent
 * and received, port, hour, and one-hot process, parent, user and protocol
 * (vocabularies from training; unseen values are all-zero).
 */
function plainRecipe(training: readonly NetworkEvent[]) {
  const vocab = (key: (e: NetworkEvent) => string) => [...new Set(training.map(key))].sort();
  const procOf = (e: NetworkEvent) => e.processPath.toLowerCase().split(/[\\/]/).pop() ?? "";
  const keys = [
    procOf,
    (e: NetworkEvent) => e.parentProcess.toLowerCase(),
    (e: NetworkEvent) => e.userContext.toLowerCase(),
    (e: NetworkEvent) => e.protocol.toUpperCase(),
  ];
  const vocabs = keys.map((k) => new Map(vocab(k).map((v, i) => [v, i])));
  const width = 4 + vocabs.reduce((a, v) => a + v.size, 0);
  return (events: readonly NetworkEvent[]) =>
    matrixOf(events, width, (e, out) => {
      out.fill(0);
      out[0] = Math.log1p(Number(e.bytesSent));
      out[1] = Math.log1p(Number(e.bytesRecv));
      out[2] = e.destPort;
      out[3] = e.timestamp ? Math.floor(Number(e.timestamp.seconds % 86_400n) / 3600) : 0;
      let o = 4;
      keys.forEach((k, i) => {
        const v = vocabs[i] as Map<string, number>;
        const at = v.get(k(e));
        if (at !== undefined) out[o + at] = 1;
        o += v.size;
      });
    });
}
