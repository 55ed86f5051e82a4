import { join } from "node:path";
import { runCli } from "./run-cli.js";
import { type MeanSd, meanSd } from "./stats.js";

/** The project's own normal-only training telemetry. */
export const TELEMETRY_TRAIN = "data/telemetry.csv";

/** Telemetry results over seeds, from `npm run evaluate -- --json`. */
export interface TelemetryResult {
  seeds: number[];
  roc_auc: MeanSd;
  pr_auc: MeanSd;
  recall: MeanSd;
  false_positive_rate: MeanSd;
  recall_at_target_fpr: MeanSd;
  target_fpr: number;
  /** Per attack scenario: recall at the model threshold and at the target FPR. */
  per_scenario: Record<string, { rows: number; recall: MeanSd; recall_at_target_fpr: MeanSd }>;
}

interface EvaluateJson {
  roc_auc: number;
  pr_auc: number;
  recall: number;
  false_positive_rate: number;
  recall_at_target_fpr: number;
  target_fpr: number;
  per_scenario: Record<
    string,
    { rows: number; positives: number; recall: number; recall_at_target_fpr: number }
  >;
}

/** Simulator seed of the fresh labelled set for forest seed s: FRESH_EVAL_SEED + s. */
export const FRESH_EVAL_SEED = 1000;

/**
 * Trains one model per seed on the normal telemetry with the trainer CLI
 * and evaluates it with the evaluator CLI on a labelled set generated fresh
 * for that seed (`npm run generate:data -- --eval-seed`), never the bundled
 * one: the same commands a user runs, on traffic no model has been tuned on.
 */
export async function runTelemetryBench(
  seeds: readonly number[],
  dir: string,
): Promise<TelemetryResult> {
  const reports: EvaluateJson[] = [];
  for (const seed of seeds) {
    const model = join(dir, `telemetry-${seed}.model.json`);
    await runCli("trainer/main.ts", [
      "--data",
      TELEMETRY_TRAIN,
      "--out",
      model,
      "--seed",
      String(seed),
      "--quiet",
    ]);
    const fresh = join(dir, `fresh-${seed}`);
    await runCli("scripts/generate-data.ts", [
      "--out",
      fresh,
      "--eval-seed",
      String(FRESH_EVAL_SEED + seed),
    ]);
    const out = await runCli("trainer/evaluate-main.ts", [
      "--model",
      model,
      "--data",
      join(fresh, "telemetry-eval.csv"),
      "--json",
      "--quiet",
    ]);
    reports.push(JSON.parse(out) as EvaluateJson);
  }
  const pick = (f: (r: EvaluateJson) => number) => meanSd(reports.map(f));
  const first = reports[0] as EvaluateJson;
  const per_scenario: TelemetryResult["per_scenario"] = {};
  for (const [name, s] of Object.entries(first.per_scenario)) {
    if (s.positives === 0) continue;
    per_scenario[name] = {
      rows: Math.round(pick((r) => r.per_scenario[name]?.rows ?? Number.NaN).mean),
      recall: pick((r) => r.per_scenario[name]?.recall ?? Number.NaN),
      recall_at_target_fpr: pick((r) => r.per_scenario[name]?.recall_at_target_fpr ?? Number.NaN),
    };
  }
  return {
    seeds: [...seeds],
    roc_auc: pick((r) => r.roc_auc),
    pr_auc: pick((r) => r.pr_auc),
    recall: pick((r) => r.recall),
    false_positive_rate: pick((r) => r.false_positive_rate),
    recall_at_target_fpr: pick((r) => r.recall_at_target_fpr),
    target_fpr: first.target_fpr,
    per_scenario,
  };
}
