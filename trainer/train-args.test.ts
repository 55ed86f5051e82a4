import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { FORMATS, NSL_KDD_TRAIN_DEFAULTS, parseTrainArgs, TRAIN_DEFAULTS } from "./train-args.js";

const base = ["--data", "d.csv", "--out", "m.json"];

describe("parseTrainArgs()", () => {
  it("merges defaults", () => {
    expect(parseTrainArgs(base)).toEqual({
      data: "d.csv",
      out: "m.json",
      trees: TRAIN_DEFAULTS.trees,
      sampleSize: TRAIN_DEFAULTS.sampleSize,
      seed: TRAIN_DEFAULTS.seed,
      contamination: TRAIN_DEFAULTS.contamination,
      format: "telemetry",
      features: "all",
      reservoir: TRAIN_DEFAULTS.reservoir,
      maxBad: TRAIN_DEFAULTS.maxBad,
      fitWorkers: undefined,
      quiet: false,
      help: false,
    });
  });

  it("sizes the forest for nsl-kdd by its own defaults, every column included", () => {
    const args = parseTrainArgs([...base, "--format", "nsl-kdd"]);
    expect(args).toMatchObject({
      trees: NSL_KDD_TRAIN_DEFAULTS.trees,
      sampleSize: NSL_KDD_TRAIN_DEFAULTS.sampleSize,
      features: "all",
    });
    expect(NSL_KDD_TRAIN_DEFAULTS.trees).not.toBe(TRAIN_DEFAULTS.trees);
  });

  it("lets --trees and --sample-size override the nsl-kdd defaults", () => {
    const args = parseTrainArgs([...base, "--format=nsl-kdd", "--trees=100", "--sample-size=256"]);
    expect(args).toMatchObject({ trees: 100, sampleSize: 256 });
  });

  it("reads every flag", () => {
    const args = parseTrainArgs([
      ...base,
      "--trees=50",
      "--sample-size=128",
      "--seed=0",
      "--contamination=auto",
      "--format=nsl-kdd",
      "--features=n38",
      "--reservoir=1000",
      "--max-bad=0.2",
      "--fit-workers=3",
      "--quiet",
    ]);
    expect(args).toMatchObject({
      trees: 50,
      sampleSize: 128,
      seed: 0,
      contamination: "auto",
      format: "nsl-kdd",
      features: "n38",
      reservoir: 1000,
      maxBad: 0.2,
      fitWorkers: 3,
      quiet: true,
    });
  });

  it("takes --fit-workers auto as one worker per core", () => {
    expect(parseTrainArgs([...base, "--fit-workers", "auto"]).fitWorkers).toBe(
      availableParallelism(),
    );
  });

  it.each([
    [["--out", "m.json"], "--data <csv> is required"],
    [["--data", "d.csv"], "--out <model file> is required"],
    [[...base, "--sample-size", "0"], "--sample-size must be an integer in [2, 65536], got 0"],
    [
      [...base, "--sample-size", "65537"],
      "--sample-size must be an integer in [2, 65536], got 65537",
    ],
    [[...base, "--trees", "1.5"], "--trees must be an integer in [1, 10000], got 1.5"],
    [[...base, "--trees", "ten"], "--trees must be an integer in [1, 10000], got ten"],
    [[...base, "--seed=-3"], "--seed must be an integer in [0, 9007199254740991], got -3"],
    [[...base, "--contamination", "0.7"], '--contamination must be in (0, 0.5] or "auto", got 0.7'],
    [[...base, "--contamination", "0"], '--contamination must be in (0, 0.5] or "auto", got 0'],
    [[...base, "--format", "parquet"], `--format must be one of ${FORMATS.join("|")}, got parquet`],
    [[...base, "--features", "n38"], "--features applies only to --format nsl-kdd"],
    [
      [...base, "--format", "nsl-kdd", "--features", "every"],
      "--features must be one of n38|n38oh|all, got every",
    ],
    [[...base, "--max-bad", "2"], "--max-bad must be in [0, 1], got 2"],
    [
      [...base, "--fit-workers", "0"],
      '--fit-workers must be an integer in [1, 256] or "auto", got 0',
    ],
    [
      [...base, "--fit-workers", "abc"],
      '--fit-workers must be an integer in [1, 256] or "auto", got abc',
    ],
    [
      [...base, "--fit-workers", "1.5"],
      '--fit-workers must be an integer in [1, 256] or "auto", got 1.5',
    ],
    [[...base, "--bogus"], "unknown flag --bogus"],
    [[...base, "--trees"], "--trees needs a value"],
    [[...base, "extra"], "unexpected argument extra"],
  ])("rejects %j", (argv, message) => {
    expect(() => parseTrainArgs(argv)).toThrow(
      expect.objectContaining({ name: "UsageError", message }),
    );
  });
});
