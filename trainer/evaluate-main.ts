import { UsageError } from "../cli/usage-error.js";
import { modelVersion, readModelFile } from "../detector/index.js";
import { badRowProblem, formatBadRow } from "./bad-rows.js";
import { EVALUATE_USAGE, type EvaluateArgs, parseEvaluateArgs } from "./evaluate-args.js";
import { evaluateScores } from "./evaluation.js";
import { formatReport } from "./format-report.js";
import { createProgress } from "./progress.js";
import { scoreFile } from "./score-file.js";

/**
 * `npm run evaluate`: scores a (labelled) CSV with a model file and prints
 * ROC-AUC, PR-AUC, the confusion at the model threshold and recall per
 * scenario, as a table or (`--json`) one JSON object.
 */
async function main(): Promise<void> {
  let args: EvaluateArgs;
  try {
    args = parseEvaluateArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`evaluate: ${e.message} (usage: npm run evaluate -- --help)\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(EVALUATE_USAGE);
    return;
  }
  const model = await readModelFile(args.model);
  const spec = model.featureSpec;
  const format = args.format ?? (spec.kind === "telemetry" ? "telemetry" : "nsl-kdd");
  const scored = await scoreFile(args.data, model, {
    format,
    labelColumn: args.labelColumn,
    scenarioColumn: args.scenarioColumn,
    labels: args.labels,
    onWarning: (line) => {
      if (!args.quiet) process.stderr.write(`evaluate: ${line}\n`);
    },
    onBadRow: (row) => {
      if (!args.quiet)
        process.stderr.write(`evaluate: skipping ${args.data} ${formatBadRow(row)}\n`);
    },
    progress: createProgress(process.stderr, "evaluate: scoring", args.quiet),
  });
  const bad = scored.bad.count;
  if (bad > 10 && !args.quiet)
    process.stderr.write(`evaluate: skipped ${bad} malformed rows in all\n`);
  const problem = badRowProblem(scored.scores.length, bad, args.maxBad);
  if (problem) throw new Error(`${args.data}: ${problem}`);
  const report = evaluateScores(
    scored.scores,
    scored.labels,
    scored.scenarios,
    model.threshold,
    args.targetFpr,
  );
  const context = {
    model: args.model,
    model_version: modelVersion(model),
    data: args.data,
    format,
    bad_rows: bad,
    label_column: scored.labelColumn ?? null,
    scenario_column: scored.scenarioColumn ?? null,
  };
  process.stdout.write(
    args.json ? `${JSON.stringify({ ...context, ...report })}\n` : formatReport(context, report),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`evaluate: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
