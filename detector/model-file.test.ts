import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  FORMAT_VERSION,
  type ModelFile,
  ModelFileError,
  parseModel,
  readModelFile,
  sealModel,
  serializeModel,
} from "./model-file.js";
import { normalEvents } from "./testdata/events.js";
import { trainModel } from "./train.js";

const model = trainModel(normalEvents(400), { nEstimators: 20, seed: 3 });
const text = serializeModel(model);

describe("serializeModel()", () => {
  it("writes formatVersion first and the same bytes for the same data and seed", () => {
    expect(text.startsWith(`{"formatVersion":${FORMAT_VERSION},"checksum":"`)).toBe(true);
    expect(serializeModel(trainModel(normalEvents(400), { nEstimators: 20, seed: 3 }))).toBe(text);
    expect(serializeModel(trainModel(normalEvents(400), { nEstimators: 20, seed: 4 }))).not.toBe(
      text,
    );
  });

  it("round-trips through parseModel", () => {
    expect(parseModel(text)).toEqual(model);
  });
});

describe("parseModel()", () => {
  it("rejects a truncated file as not valid JSON", () => {
    expect(() => parseModel(text.slice(0, text.length / 2))).toThrow(ModelFileError);
    expect(() => parseModel(text.slice(0, text.length / 2))).toThrow(
      /not valid JSON, the file is truncated or corrupt/,
    );
  });

  it("rejects an unknown format version naming both versions", () => {
    const v9 = text.replace(`"formatVersion":${FORMAT_VERSION}`, '"formatVersion":9');
    expect(() => parseModel(v9)).toThrow(
      `format version 9 is not supported; this build reads version ${FORMAT_VERSION}`,
    );
  });

  it("rejects JSON that is not a model", () => {
    expect(() => parseModel('{"hello":1}')).toThrow(/not a netanomaly model/);
    expect(() => parseModel("[1,2]")).toThrow(/not a netanomaly model/);
  });

  it("rejects an edited number with a checksum mismatch", () => {
    const edited = text.replace(
      /"threshold":0\.(\d)/,
      (_, d) => `"threshold":0.${(Number(d) + 1) % 10}`,
    );
    expect(edited).not.toBe(text);
    expect(() => parseModel(edited)).toThrow(/checksum mismatch/);
  });
});

describe("readModelFile()", () => {
  it("names a missing file", async () => {
    await expect(readModelFile("/nonexistent/m.json")).rejects.toThrow(
      "model file /nonexistent/m.json does not exist",
    );
  });

  it("names the file and the problem for a truncated file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "model-"));
    const path = join(dir, "cut.model.json");
    await writeFile(path, text.slice(0, 1000));
    await expect(readModelFile(path)).rejects.toThrow(`model file ${path}: not valid JSON`);
  });
});

/** The model with `edit` applied to a deep copy, sealed again: a valid checksum over nonsense. */
function resealed(edit: (m: ModelFile) => void): string {
  const copy = JSON.parse(JSON.stringify(model)) as ModelFile;
  edit(copy);
  const { checksum: _c, formatVersion: _f, ...rest } = copy;
  return serializeModel(sealModel(rest));
}

describe("readModelFile() on hostile files (issue 23, items 3 and 6)", () => {
  // On 20efb59 the FIFO read never returned (the test timed out) and
  // /dev/zero was read until memory ran out.
  it("refuses a FIFO at once, without waiting for a writer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "netanomaly-model-"));
    const fifo = join(dir, "model.json");
    execFileSync("mkfifo", [fifo]);
    await expect(readModelFile(fifo)).rejects.toThrow(
      `model file ${fifo} is a FIFO, not a regular file: refused`,
    );
  }, 5_000);

  it("refuses a device such as /dev/zero", async () => {
    await expect(readModelFile("/dev/zero")).rejects.toThrow(
      "model file /dev/zero is a character device, not a regular file: refused",
    );
  }, 5_000);

  it("refuses a directory and a file over the size limit", async () => {
    const dir = await mkdtemp(join(tmpdir(), "netanomaly-model-"));
    await expect(readModelFile(dir)).rejects.toThrow(/is a directory, not a regular file/);
    const path = join(dir, "model.json");
    await writeFile(path, text);
    await expect(readModelFile(path, { maxBytes: 1000 })).rejects.toThrow(
      `model file ${path} has ${Buffer.byteLength(text)} bytes, more than the limit of 1000 (--max-model-bytes)`,
    );
    expect((await readModelFile(path)).checksum).toBe(model.checksum);
  });
});

describe("parseModel() bounds every size it reads (issue 23, items 6 and 7)", () => {
  it.each<[string, (m: ModelFile) => void, RegExp]>([
    [
      "a sample size over the trainer's 65,536",
      (m) => {
        m.params.maxSamples = 2 ** 22;
      },
      /params.maxSamples must be an integer in \[1, 65536\], got 4194304/,
    ],
    [
      "a forest sample size over 65,536",
      (m) => {
        // Leaf-only trees keep it consistent: 20efb59 accepted it and
        // compiled tables sized by the depth (1.45 GB RSS at 2^23).
        m.forest.maxSamples = 2 ** 23;
        m.forest.maxDepth = 23;
        m.forest.trees = m.forest.trees.map(() => ({
          feature: [-1],
          threshold: [0],
          right: [0],
          size: [2 ** 23],
          low: [0],
          high: [0],
        }));
      },
      /forest.maxSamples must be an integer in \[2, 65536\], got 8388608/,
    ],
    [
      "more than 10,000 trees",
      (m) => {
        m.params.nEstimators = 10_001;
      },
      /params.nEstimators must be an integer in \[1, 10000\], got 10001/,
    ],
    [
      "a count table over 50,000 keys",
      (m) => {
        if (m.featureSpec.kind !== "telemetry") return;
        m.featureSpec.tables.process = Array.from({ length: 50_001 }, (_, i) => [`p${i}`, 1]);
      },
      /featureSpec.tables.process has 50001 keys, at most 50000/,
    ],
    [
      "a key longer than 4096 characters",
      (m) => {
        if (m.featureSpec.kind !== "telemetry") return;
        m.featureSpec.tables.process[0] = ["x".repeat(5000), 1];
      },
      /featureSpec.tables.process\[0\] must be \[key of ≤ 4096 characters/,
    ],
    [
      "a non-numeric count",
      (m) => {
        if (m.featureSpec.kind !== "telemetry") return;
        (m.featureSpec.tables.process[0] as unknown[])[1] = "7";
      },
      /featureSpec.tables.process\[0\] must be \[key .*count in \[1, rows/,
    ],
    [
      "a null baseline",
      (m) => {
        if (m.featureSpec.kind !== "telemetry") return;
        (m.featureSpec.baselines[0] as unknown[])[1] = null;
      },
      /featureSpec.baselines\[0\] must be \[key, \[n in \[1, rows/,
    ],
    [
      "a negative spread",
      (m) => {
        if (m.featureSpec.kind !== "telemetry") return;
        (m.featureSpec.baselines[0] as [string, number[]])[1][2] = -1;
      },
      /featureSpec.baselines\[0\] must be/,
    ],
    [
      "rows that are not a number",
      (m) => {
        if (m.featureSpec.kind !== "telemetry") return;
        (m.featureSpec as { rows: unknown }).rows = "400";
      },
      /featureSpec.rows must be a positive integer, got "400"/,
    ],
    [
      "an hour-coverage mask outside 1 to 254",
      (m) => {
        if (m.featureSpec.kind !== "telemetry") return;
        m.featureSpec.hourCoverage = [["new.exe", 255]];
      },
      /featureSpec.hourCoverage\[0\] must be \[process, bucket mask in \[1, 254\]\], got \["new.exe",255\]/,
    ],
    [
      "an hour coverage that is not a list",
      (m) => {
        if (m.featureSpec.kind !== "telemetry") return;
        (m.featureSpec as { hourCoverage: unknown }).hourCoverage = { "new.exe": 3 };
      },
      /featureSpec.hourCoverage must be a list/,
    ],
    [
      "a tree with more nodes than its sample allows",
      (m) => {
        const t = m.forest.trees[0];
        if (t === undefined) return;
        for (const key of ["feature", "threshold", "right", "size", "low", "high"] as const) {
          (t[key] as number[]).push(...new Array(2 * m.forest.maxSamples).fill(0));
        }
      },
      /tree 0: has \d+ nodes, at most \d+ fit/,
    ],
    [
      "a seeding other than per-tree",
      (m) => {
        (m.params as { seeding?: unknown }).seeding = "stream";
      },
      /params.seeding must be "per-tree" or absent, got "stream"/,
    ],
  ])("refuses %s", (_what, edit, message) => {
    expect(() => parseModel(resealed(edit))).toThrow(message);
  });

  it("still accepts the model as trained", () => {
    expect(parseModel(resealed(() => {})).checksum).toBe(model.checksum);
  });

  it("accepts hour coverage, a field newer than version 2's first files, and reads files without it", () => {
    expect(model.featureSpec.kind === "telemetry" && model.featureSpec.hourCoverage).toBe(
      undefined,
    );
    const text = resealed((m) => {
      if (m.featureSpec.kind === "telemetry") m.featureSpec.hourCoverage = [["new.exe", 0b11]];
    });
    const spec = parseModel(text).featureSpec;
    expect(spec.kind === "telemetry" && spec.hourCoverage).toEqual([["new.exe", 3]]);
  });
});
