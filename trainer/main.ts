import { relative } from "node:path";
import { UsageError } from "../cli/usage-error.js";
import {
  createRandom,
  type ModelFile,
  modelVersion,
  resolveParams,
  serializeModel,
} from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { badRowProblem, formatBadRow } from "./bad-rows.js";
import { createProgress } from "./progress.js";
import { readTrainingSet } from "./read-training-set.js";
import { createReservoir } from "./reservoir.js";
import { nslKddRows, telemetryRows } from "./row-formats.js";
import { readFileEvents } from "./source-events.js";
import { trainNslKdd, trainTelemetry } from "./train.js";
import { isTelemetryCsv, parseTrainArgs, TRAIN_USAGE, type TrainArgs } from "./train-args.js";
import { writeFileAtomic } from "./write-atomic.js";

/**
 * `npm run train`: reads a training CSV once (a seeded reservoir sample of
 * it), trains an Isolation Forest and writes the model file atomically.
 */
async function main(): Promise<void> {
  const started = Date.now();
  let args: TrainArgs;
  try {
    args = parseTrainArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`train: ${e.message} (usage: npm run train -- --help)\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(TRAIN_USAGE);
    return;
  }
  const params = resolveParams({
    nEstimators: args.trees,
    maxSamples: args.sampleSize,
    seed: args.seed,
    contamination: args.contamination,
  });
  const options = {
    reservoir: args.reservoir,
    seed: args.seed,
    onBadRow: (row: Parameters<typeof formatBadRow>[0]) => {
      if (!args.quiet) process.stderr.write(`train: skipping ${args.data} ${formatBadRow(row)}\n`);
    },
    progress: createProgress(process.stderr, "train: reading", args.quiet),
  };
  let model: ModelFile;
  let good: number;
  let bad: number;
  if (args.format === "nsl-kdd") {
    const set = await readTrainingSet(args.data, nslKddRows, options);
    ({ good } = set);
    bad = set.bad.count;
    checkBadRows(args, good, bad);
    model = await trainNslKdd(set.rows, args.features, params, good, args.fitWorkers);
  } else if (!isTelemetryCsv(args.format)) {
    const reservoir = createReservoir<NetworkEvent>(
      args.reservoir,
      createRandom(args.seed + 0x5eed),
    );
    let endMs = Number.NEGATIVE_INFINITY;
    bad = 0;
    for await (const { event } of readFileEvents(args.format, args.data, (row) => {
      bad++;
      options.onBadRow(row);
    })) {
      options.progress.tick(reservoir.seen + bad + 1);
      const ts = event.timestamp;
      if (ts) endMs = Math.max(endMs, Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
      reservoir.offer(event);
    }
    options.progress.done();
    good = reservoir.seen;
    checkBadRows(args, good, bad);
    model = await trainTelemetry(
      reservoir.items(),
      params,
      good,
      Number.isFinite(endMs) ? endMs : undefined,
      args.fitWorkers,
    );
  } else {
    // The reservoir keeps a sample; the data's end time must come from every row.
    let endMs = Number.NEGATIVE_INFINITY;
    const rows = {
      ...telemetryRows,
      parse(record: Readonly<Record<string, string>>) {
        const event = telemetryRows.parse(record);
        const ts = event.timestamp;
        if (ts) endMs = Math.max(endMs, Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
        return event;
      },
    };
    const set = await readTrainingSet(args.data, rows, options);
    ({ good } = set);
    bad = set.bad.count;
    checkBadRows(args, good, bad);
    model = await trainTelemetry(
      set.rows,
      params,
      good,
      Number.isFinite(endMs) ? endMs : undefined,
      args.fitWorkers,
    );
  }
  await writeFileAtomic(args.out, serializeModel(model));
  const c = model.params.contamination;
  const summary = [
    ["rows read", `${good + bad}`],
    ["rows sampled", `${model.training.sampledRows}`],
    ["bad rows", `${bad}`],
    ["format", args.format === "nsl-kdd" ? `nsl-kdd (${args.features})` : args.format],
    ["features", `${model.forest.nFeatures}`],
    ["trees", `${model.forest.trees.length}`],
    ["sample size", `${model.forest.maxSamples}`],
    [
      "seed",
      `${model.params.seed}${model.params.seeding === "per-tree" ? " (a seed per tree)" : ""}`,
    ],
    ...(args.fitWorkers === undefined ? [] : [["fit workers", `${args.fitWorkers}`]]),
    ["threshold", `${model.threshold.toFixed(6)} (contamination ${c})`],
    ["model version", modelVersion(model)],
    ["output", displayPath(args.out)],
    ["time", `${((Date.now() - started) / 1000).toFixed(2)} s`],
  ];
  process.stdout.write(`${summary.map(([k, v]) => `${`${k}:`.padEnd(15)}${v}`).join("\n")}\n`);
}

function checkBadRows(args: TrainArgs, good: number, bad: number): void {
  if (bad > 10 && !args.quiet)
    process.stderr.write(`train: skipped ${bad} malformed rows in all\n`);
  const problem = badRowProblem(good, bad, args.maxBad);
  if (problem) throw new Error(`${args.data}: ${problem}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`train: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" || rel.startsWith("..") ? path : rel;
}
