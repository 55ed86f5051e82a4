import { choiceFlag, parseFlags, UsageError } from "../cli/usage-error.js";
import { FORMATS, type InputFormat } from "./train-args.js";

/** The evaluator's command line, checked. */
export interface EvaluateArgs {
  model: string;
  data: string;
  labelColumn: string | undefined;
  scenarioColumn: string | undefined;
  /** A labels file (`key,label` lines) for a log format whose events carry no labels. */
  labels: string | undefined;
  /** Undefined: taken from the model (telemetry, or the table format it was trained on). */
  format: InputFormat | undefined;
  targetFpr: number;
  maxBad: number;
  json: boolean;
  quiet: boolean;
  help: boolean;
}

export const EVALUATE_USAGE = `usage: npm run evaluate -- --model <file> --data <csv> [options]

  --model <file>           model file from npm run train
  --data <csv>             rows to score (telemetry CSV with header, or NSL-KDD rows)
  --label-column <col>     1/true/attack/<attack name> = positive; 0/false/normal/empty = negative
                           (default: label, when the file has it)
  --scenario-column <col>  recall per value of this column (default: scenario, when present)
  --labels <file>          log formats (zeek, suricata, sysmon, osquery): key,label lines naming each
                           record by its id (uid, flow_id, ProcessGuid, host:pid); unlisted = normal
  --format <name>          telemetry | nsl-kdd (default: what the model was trained on)
  --target-fpr <f>         false-positive rate of the second threshold, [0, 1) (default 0.01)
  --max-bad <f>            largest share of malformed rows tolerated, [0, 1] (default 0.01)
  --json                   print one JSON object instead of the table
  --quiet                  no progress or bad-row lines on stderr
`;

/**
 * Parses and checks the evaluator's flags.
 *
 * @throws UsageError with one line naming the flag and the problem.
 */
export function parseEvaluateArgs(argv: readonly string[]): EvaluateArgs {
  const values = parseFlags(argv, {
    model: { type: "string" },
    data: { type: "string" },
    "label-column": { type: "string" },
    "scenario-column": { type: "string" },
    labels: { type: "string" },
    format: { type: "string" },
    "target-fpr": { type: "string" },
    "max-bad": { type: "string" },
    json: { type: "boolean" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const str = (k: string) => values[k] as string | undefined;
  const help = values.help === true;
  if (!help) {
    if (!str("model")) throw new UsageError("--model <file> is required");
    if (!str("data")) throw new UsageError("--data <csv> is required");
  }
  const format =
    str("format") === undefined
      ? undefined
      : choiceFlag("format", str("format"), FORMATS, "telemetry");
  return {
    model: str("model") ?? "",
    data: str("data") ?? "",
    labelColumn: str("label-column"),
    scenarioColumn: str("scenario-column"),
    labels: str("labels"),
    format,
    targetFpr: fraction("target-fpr", str("target-fpr"), 0.01, false),
    maxBad: fraction("max-bad", str("max-bad"), 0.01, true),
    json: values.json === true,
    quiet: values.quiet === true,
    help,
  };
}

function fraction(
  flag: string,
  text: string | undefined,
  fallback: number,
  closed: boolean,
): number {
  if (text === undefined) return fallback;
  const f = text.trim() === "" ? Number.NaN : Number(text);
  if (!(f >= 0 && (closed ? f <= 1 : f < 1))) {
    throw new UsageError(`--${flag} must be in [0, 1${closed ? "]" : ")"}, got ${text}`);
  }
  return f;
}
