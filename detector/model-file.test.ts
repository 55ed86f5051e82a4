import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  FORMAT_VERSION,
  ModelFileError,
  parseModel,
  readModelFile,
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
