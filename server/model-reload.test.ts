import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Detector } from "../detector/detector.js";
import {
  fitTableFeatures,
  loadModel,
  resolveParams,
  serializeModel,
  trainModel,
  trainOnMatrix,
} from "../detector/index.js";
import { createModelHolder, type ModelHolder } from "./model-holder.js";
import { createModelReloader, type ModelReloader } from "./model-reload.js";
import { routineEvents } from "./testdata/detector.js";

/** A small telemetry model; different seeds give different versions. */
function modelText(seed: number): string {
  return serializeModel(trainModel(routineEvents(200), { nEstimators: 10, maxSamples: 32, seed }));
}

/** A pino logger whose parsed lines land in `lines`. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) {
        if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { lines, logger: pino({ level: "debug" }, sink) };
}

let dir: string;
let path: string;
let models: ModelHolder;
let first: Detector;
let reloader: ModelReloader | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-reload-"));
  path = join(dir, "model.json");
  writeFileSync(path, modelText(1));
  first = await loadModel(path);
  models = createModelHolder(first);
});

afterEach(() => {
  reloader?.close();
  reloader = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` beside the model and renames it into place, as the trainer does. */
function replaceModel(text: string): void {
  const tmp = join(dir, `.model.json.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

describe("createModelReloader().reload()", () => {
  it("swaps in a new model and logs both versions", async () => {
    const { lines, logger } = captureLogger();
    reloader = createModelReloader({ path, models, logger });
    replaceModel(modelText(2));
    const outcome = await reloader.reload("SIGHUP");
    const now = models.current() as Detector;
    expect(now.info.version).not.toBe(first.info.version);
    expect(outcome).toEqual({ status: "swapped", from: first.info.version, to: now.info.version });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 30,
        msg: "model reloaded",
        trigger: "SIGHUP",
        from: first.info.version,
        to: now.info.version,
      }),
    );
  });

  it("keeps the --threshold override across reloads", async () => {
    models.swap(first.withThreshold(0.9));
    reloader = createModelReloader({
      path,
      models,
      logger: pino({ level: "silent" }),
      threshold: 0.9,
    });
    replaceModel(modelText(2));
    await reloader.reload("manual");
    expect(models.current()?.threshold).toBe(0.9);
    expect(models.current()?.info.version).not.toBe(first.info.version);
  });

  it("does not swap when the file holds the model already serving", async () => {
    let swaps = 0;
    models.onSwap(() => swaps++);
    reloader = createModelReloader({ path, models, logger: pino({ level: "silent" }) });
    expect(await reloader.reload("manual")).toEqual({
      status: "unchanged",
      version: first.info.version,
    });
    expect(swaps).toBe(0);
  });

  const tableModel = () => {
    const spec = fitTableFeatures("nsl-kdd", ["a", "b"], [], []);
    const data = Float64Array.from({ length: 128 }, (_, i) => (i * 7919) % 101);
    const params = resolveParams({ nEstimators: 5, maxSamples: 32, seed: 1 });
    return serializeModel(
      trainOnMatrix({ data, nRows: 64, nFeatures: 2 }, spec, params, {
        rows: 64,
        dataEndTime: null,
      }),
    );
  };

  it.each([
    ["a truncated file", () => modelText(2).slice(0, 500), "truncated or corrupt"],
    [
      "a file of another format version",
      () => modelText(2).replace('"formatVersion":2', '"formatVersion":3'),
      "format version 3 is not supported; this build reads version 2",
    ],
    ["a table (NSL-KDD) model", tableModel, "needs a telemetry model"],
    ["a missing file", undefined, "does not exist"],
  ])("rejects %s with a warn line and keeps serving the old model", async (_name, make, reason) => {
    const { lines, logger } = captureLogger();
    reloader = createModelReloader({ path, models, logger });
    if (make === undefined) {
      rmSync(path);
    } else {
      replaceModel(make());
    }
    const outcome = await reloader.reload("SIGHUP");
    expect(outcome).toEqual({ status: "rejected", reason: expect.stringContaining(reason) });
    expect(models.current()).toBe(first);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: "model reload rejected",
        reason: expect.stringContaining(reason),
        keeping: first.info.version,
      }),
    );
  });

  it("runs overlapping reloads one after the other", async () => {
    reloader = createModelReloader({ path, models, logger: pino({ level: "silent" }) });
    replaceModel(modelText(2));
    const [a, b] = await Promise.all([reloader.reload("manual"), reloader.reload("manual")]);
    expect(a.status).toBe("swapped");
    expect(b.status).toBe("unchanged");
  });
});

describe("createModelReloader().watch()", () => {
  it("reloads when a new model is renamed into place", async () => {
    const { lines, logger } = captureLogger();
    reloader = createModelReloader({ path, models, logger, debounceMs: 20 });
    reloader.watch();
    const swapped = new Promise<Detector>((resolve) => models.onSwap(resolve));
    const next = modelText(2);
    replaceModel(next);
    const now = await swapped;
    expect(now.info.version).not.toBe(first.info.version);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "model reloaded", trigger: "watch", to: now.info.version }),
    );
  });

  it("reloads when a symlinked file changes through a renamed ..data link, as on a ConfigMap volume", async () => {
    const mount = join(dir, "mount");
    mkdirSync(join(mount, "..v1"), { recursive: true });
    writeFileSync(join(mount, "..v1", "model.json"), modelText(1));
    symlinkSync("..v1", join(mount, "..data"));
    symlinkSync(join("..data", "model.json"), join(mount, "model.json"));
    const linked = join(mount, "model.json");
    models.swap(await loadModel(linked));
    reloader = createModelReloader({
      path: linked,
      models,
      logger: pino({ level: "silent" }),
      debounceMs: 20,
    });
    reloader.watch();
    const swapped = new Promise<Detector>((resolve) => models.onSwap(resolve));
    mkdirSync(join(mount, "..v2"));
    writeFileSync(join(mount, "..v2", "model.json"), modelText(2));
    symlinkSync("..v2", join(mount, "..data_tmp"));
    renameSync(join(mount, "..data_tmp"), join(mount, "..data"));
    expect((await swapped).info.version).not.toBe(first.info.version);
  });

  it("ignores a corrupt file dropped in place, then takes the fixed one", async () => {
    const { lines, logger } = captureLogger();
    reloader = createModelReloader({ path, models, logger, debounceMs: 20 });
    reloader.watch();
    const rejected = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (lines.some((l) => l.msg === "model reload rejected")) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    replaceModel('{"formatVersion":1,');
    await rejected;
    expect(models.current()).toBe(first);
    const swapped = new Promise<Detector>((resolve) => models.onSwap(resolve));
    replaceModel(modelText(3));
    expect((await swapped).info.version).not.toBe(first.info.version);
  });
});
