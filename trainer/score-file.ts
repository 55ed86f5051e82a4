import {
  compileForest,
  createDetector,
  featurizeTableRecord,
  type ModelFile,
} from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { readCsvRows } from "../sources/csv-rows.js";
import { readLabels } from "../sources/index.js";
import { type BadRow, type BadRowLog, createBadRowLog } from "./bad-rows.js";
import { labelValue } from "./labels.js";
import type { Progress } from "./progress.js";
import { nslKddRows, RowError, type RowFormat, telemetryRows } from "./row-formats.js";
import { readFileEvents } from "./source-events.js";
import { type InputFormat, isTelemetryCsv } from "./train-args.js";

/** Scores of a file, with labels and scenarios when it has them. */
export interface ScoredFile {
  scores: Float64Array;
  /** 1/0 per row, or null when there is no label column. */
  labels: Uint8Array | null;
  /** Scenario per row, or null when there is no scenario column. */
  scenarios: string[] | null;
  labelColumn: string | undefined;
  scenarioColumn: string | undefined;
  bad: BadRowLog;
}

/** Options of `scoreFile`. */
export interface ScoreFileOptions {
  format: InputFormat;
  /** Label column; undefined picks the default (`label` when present). */
  labelColumn: string | undefined;
  /** Scenario column; undefined picks the default (`scenario` when present, telemetry only). */
  scenarioColumn: string | undefined;
  /** Labels file for source formats (`key,label` lines); undefined: the events' own labels. */
  labels?: string | undefined;
  /** Problems that are not the data's own (a labels file's lines). */
  onWarning?: (line: string) => void;
  onBadRow: (row: BadRow) => void;
  progress: Progress;
}

const BATCH = 1024;

/**
 * Streams a CSV through a model, skipping malformed rows like the trainer.
 * Memory is a few numbers per row (scores, labels), never the rows themselves.
 *
 * @throws Error when the model does not fit the format, or a named column is absent.
 */
export async function scoreFile(
  path: string,
  model: ModelFile,
  options: ScoreFileOptions,
): Promise<ScoredFile> {
  if (options.format !== "nsl-kdd" && !isTelemetryCsv(options.format))
    return scoreSourceFile(path, model, options);
  const scorer = createBatchScorer(model, options.format);
  const format = scorer.format as RowFormat<unknown>;
  let labelColumn = options.labelColumn;
  let scenarioColumn = options.scenarioColumn;
  const scores = growable(Float64Array);
  const labels = growable(Uint8Array);
  const scenarios: string[] = [];
  const bad = createBadRowLog(options.onBadRow);
  let rows = 0;
  let pending: { row: unknown; label: 0 | 1; scenario: string }[] = [];
  const flush = () => {
    const out = new Float64Array(pending.length);
    scorer.score(
      pending.map((p) => p.row),
      out,
    );
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i] as (typeof pending)[number];
      scores.push(out[i] as number);
      labels.push(p.label);
      scenarios.push(p.scenario);
    }
    pending = [];
  };
  const source = readCsvRows(path, {
    columns: format.columns,
    onHeader: (header) => {
      format.checkHeader(path, header);
      const has = (c: string) => header.includes(c);
      for (const [flag, column] of [
        ["--label-column", labelColumn],
        ["--scenario-column", scenarioColumn],
      ] as const) {
        if (column !== undefined && !has(column)) {
          throw new Error(`${path} has no column ${column} (${flag}); it has ${header.join(", ")}`);
        }
      }
      labelColumn ??= has("label") ? "label" : undefined;
      scenarioColumn ??= options.format === "telemetry" && has("scenario") ? "scenario" : undefined;
    },
    onSkip: ({ line, message }) => {
      bad.add({ line, columns: [], message });
      options.progress.tick(++rows);
    },
  });
  for await (const { record, line } of source) {
    options.progress.tick(++rows);
    try {
      pending.push({
        row: format.parse(record),
        label: labelColumn === undefined ? 0 : labelValue(record[labelColumn]),
        scenario: scenarioColumn === undefined ? "" : (record[scenarioColumn] ?? "").trim(),
      });
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      bad.add({ line, columns: e.columns, message: e.message });
      continue;
    }
    if (pending.length === BATCH) flush();
  }
  flush();
  options.progress.done();
  return {
    scores: scores.view(),
    labels: labelColumn === undefined ? null : labels.view(),
    scenarios: scenarioColumn === undefined ? null : scenarios,
    labelColumn,
    scenarioColumn,
    bad,
  };
}

/**
 * Scores a file of a source format (`jsonl`, `zeek`, …). Labels and
 * scenarios are what the source read with each event (a `label` or
 * `scenario` key in JSON lines); events without one count as unlabelled.
 */
async function scoreSourceFile(
  path: string,
  model: ModelFile,
  options: ScoreFileOptions,
): Promise<ScoredFile> {
  if (options.labelColumn !== undefined || options.scenarioColumn !== undefined)
    throw new Error(
      `--label-column and --scenario-column apply to CSV files; ${options.format} events carry their own labels`,
    );
  if (model.featureSpec.kind !== "telemetry")
    throw new Error(
      `the model was trained on ${model.featureSpec.format} tables; use --format ${model.featureSpec.format}`,
    );
  const detector = createDetector(model);
  const scores = growable(Float64Array);
  const labels = growable(Uint8Array);
  const scenarios: string[] = [];
  const bad = createBadRowLog(options.onBadRow);
  let labelled = 0;
  const table =
    options.labels === undefined
      ? undefined
      : await readLabels(options.labels, {
          signal: new AbortController().signal,
          onSkip: (p) => options.onWarning?.(`skipping ${p.where}: ${p.message}`),
          onNotice: () => {},
        });
  let pending: NetworkEvent[] = [];
  const flush = () => {
    const out = new Float64Array(pending.length);
    detector.scoreBatch(pending, out);
    for (const x of out) scores.push(x);
    pending = [];
  };
  let n = 0;
  for await (const { event, label: own, key } of readFileEvents(options.format, path, (row) => {
    bad.add(row);
    options.progress.tick(++n);
  })) {
    options.progress.tick(++n);
    // With a labels file, a record it does not list is normal traffic.
    const label = table === undefined ? own : (table.get(key) ?? "normal");
    if (label !== undefined) labelled++;
    labels.push(label === undefined || label === "normal" ? 0 : 1);
    scenarios.push(label === undefined ? "" : label);
    pending.push(event);
    if (pending.length === BATCH) flush();
  }
  flush();
  options.progress.done();
  return {
    scores: scores.view(),
    labels: labelled === 0 ? null : labels.view(),
    scenarios: labelled === 0 ? null : scenarios,
    labelColumn: labelled === 0 ? undefined : "label",
    scenarioColumn: labelled === 0 ? undefined : "label",
    bad,
  };
}

interface BatchScorer {
  format: RowFormat<unknown>;
  score(rows: unknown[], out: Float64Array): void;
}

function createBatchScorer(model: ModelFile, format: InputFormat): BatchScorer {
  const spec = model.featureSpec;
  if (isTelemetryCsv(format)) {
    if (spec.kind !== "telemetry") {
      throw new Error(
        `the model was trained on ${spec.format} tables; use --format ${spec.format}`,
      );
    }
    const detector = createDetector(model);
    return {
      format: telemetryRows as RowFormat<unknown>,
      score: (rows, out) => detector.scoreBatch(rows as NetworkEvent[], out),
    };
  }
  if (spec.kind !== "table" || spec.format !== "nsl-kdd") {
    throw new Error(
      `the model was trained on ${spec.kind === "table" ? spec.format : "telemetry"}, not nsl-kdd`,
    );
  }
  const forest = compileForest(model.forest);
  const nf = spec.features.length;
  return {
    format: nslKddRows as RowFormat<unknown>,
    score(rows, out) {
      const data = new Float64Array(rows.length * nf);
      rows.forEach((r, i) => {
        featurizeTableRecord(spec, r as Record<string, string>, data, i * nf);
      });
      forest.scoreRows({ data, nRows: rows.length, nFeatures: nf }, out);
    },
  };
}

function growable<A extends Float64Array | Uint8Array>(Kind: { new (n: number): A }) {
  let buf = new Kind(1024);
  let n = 0;
  return {
    push(v: number) {
      if (n === buf.length) {
        const bigger = new Kind(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      buf[n++] = v;
    },
    view: () => buf.subarray(0, n) as A,
  };
}
