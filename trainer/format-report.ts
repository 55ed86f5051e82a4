import type { EvaluationReport } from "./evaluation.js";

/** Where a report came from, printed above it. */
export interface ReportContext {
  model: string;
  model_version: string;
  data: string;
  format: string;
  bad_rows: number;
  label_column: string | null;
  scenario_column: string | null;
}

/** Formats an evaluation report as an aligned plain-text table. */
export function formatReport(context: ReportContext, r: EvaluationReport): string {
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`${`${k}:`.padEnd(20)}${v}`);
  row("model", `${context.model} (version ${context.model_version})`);
  row(
    "data",
    `${context.data} (${context.format}, ${r.rows} rows scored, ${context.bad_rows} bad rows)`,
  );
  row("threshold", `${r.threshold.toFixed(6)} (model)`);
  row("flagged", `${r.flagged} (${pct(r.flagged / Math.max(r.rows, 1))})`);
  if (r.positives === null) {
    row("labels", "none (no label column): only scores and flagged count");
    return `${lines.join("\n")}\n`;
  }
  row(
    "labels",
    `${context.label_column}: ${r.positives} positive, ${r.rows - r.positives} negative`,
  );
  row("ROC-AUC", num(r.roc_auc));
  row("PR-AUC (AP)", num(r.pr_auc));
  row("precision", num(r.precision));
  row("recall", num(r.recall));
  row("F1", num(r.f1));
  row("FPR", num(r.false_positive_rate));
  const t = r.threshold_at_target_fpr;
  row(
    `at ${pct(r.target_fpr)} FPR`,
    t === null
      ? "n/a (no negatives)"
      : `threshold ${t.toFixed(6)}, recall ${num(r.recall_at_target_fpr)}`,
  );
  if (r.per_scenario) {
    lines.push("", `per ${context.scenario_column}:`);
    const names = Object.keys(r.per_scenario);
    const width = Math.max(10, ...names.map((n) => n.length)) + 2;
    const head = [
      "rows",
      "positives",
      "recall",
      `recall@${pct(r.target_fpr)}`,
      "FPR",
      `FPR@${pct(r.target_fpr)}`,
    ];
    lines.push(`  ${"".padEnd(width)}${head.map((h) => h.padStart(11)).join("")}`);
    for (const name of names) {
      const s = r.per_scenario[name];
      if (!s) continue;
      const cells = [
        `${s.rows}`,
        `${s.positives}`,
        num(s.recall),
        num(s.recall_at_target_fpr),
        num(s.false_positive_rate),
        num(s.false_positive_rate_at_target_fpr),
      ];
      lines.push(
        `  ${(name || "(empty)").padEnd(width)}${cells.map((c) => c.padStart(11)).join("")}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

function num(v: number | null): string {
  return v === null ? "n/a" : v.toFixed(4);
}

function pct(v: number): string {
  return `${Number((v * 100).toPrecision(3))}%`;
}
