import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createDetector, type Detector, modelVersion, trainModel } from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createSimulator, DEFAULT_START_MS } from "../telemetry/simulator.js";
import { parseBenignPatterns } from "./benign-patterns.js";
import { fitInProcess } from "./fit.js";
import { createLearner } from "./learner.js";
import { openModelStore } from "./model-store.js";

const DAY = 24 * 3_600_000;
const quiet = pino({ level: "silent" });
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), "netanomaly-learn-"));
  dirs.push(d);
  return d;
};

/** Events of `days` simulated days from `startMs`. */
function simulate(seed: number, startMs: number, days: number, anomalyRate = 0): NetworkEvent[] {
  const sim = createSimulator({ seed, startMs, anomalyRate, meanGapMs: 40_000 });
  const out: NetworkEvent[] = [];
  for (;;) {
    const { event } = sim.next();
    if (sim.nowMs >= startMs + days * DAY) return out;
    out.push(event);
  }
}

/** Scores `events` in batches with the holder's model and offers them, as the server does. */
function feed(
  learner: ReturnType<typeof createLearner>,
  holder: { current(): Detector },
  events: NetworkEvent[],
) {
  const scores = new Float64Array(100);
  for (let i = 0; i < events.length; i += 100) {
    const batch = events.slice(i, i + 100);
    const d = holder.current();
    d.scoreBatch(batch, scores);
    learner.observe(batch, scores, d.threshold);
  }
}

describe("createLearner()", () => {
  const history = simulate(1, DEFAULT_START_MS, 2);
  const model = trainModel(history, { seed: 3, nEstimators: 50 });

  it("promotes a model learned from normal traffic, records its lineage and writes it", async () => {
    let detector = createDetector(model);
    const holder = { current: () => detector, swap: (d: Detector) => (detector = d) };
    const store = await openModelStore(await tempDir());
    const learner = createLearner({
      models: holder,
      model,
      fit: fitInProcess,
      store,
      logger: quiet,
      reference: history.slice(-1000),
    });
    feed(learner, holder, simulate(2, DEFAULT_START_MS + 2 * DAY, 2));
    expect(learner.pending()).toBeUndefined();
    const outcome = await learner.retrain("manual");
    expect(outcome).toMatchObject({ status: "promoted", parent: modelVersion(model) });
    expect(detector.info.version).not.toBe(modelVersion(model));
    expect(detector.info.lineage).toMatchObject({
      parentVersion: modelVersion(model),
      generation: 1,
      trigger: "manual",
    });
    expect(Date.parse(detector.info.lineage?.windowEnd ?? "")).toBeGreaterThan(
      DEFAULT_START_MS + 3 * DAY,
    );
    expect(learner.status()).toMatchObject({ promoted: 1, refused: 0 });
    const files = await readdir(store.dir);
    expect(files).toEqual([`learned-000001-${detector.info.version}.model.json`]);
  });

  it("refuses a model whose scores on the held-back slice move too far, keeps it on disk and keeps serving", async () => {
    let detector = createDetector(model);
    const holder = { current: () => detector, swap: (d: Detector) => (detector = d) };
    const store = await openModelStore(await tempDir());
    // A benign mark on everything lets an attack-only stream into the sample.
    const benign = parseBenignPatterns("*|*", "all.txt", () => {});
    const learner = createLearner({
      models: holder,
      model,
      fit: fitInProcess,
      store,
      logger: quiet,
      reference: history.slice(-1000),
      guard: { benign },
    });
    feed(learner, holder, simulate(4, DEFAULT_START_MS + 2 * DAY, 2, 1));
    const outcome = await learner.retrain("manual");
    expect(outcome.status).toBe("refused");
    expect(outcome.status === "refused" && outcome.reason).toMatch(/held-back slice/);
    expect(detector.info.version).toBe(modelVersion(model));
    const files = (await readdir(store.dir)).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^refused-000001-[0-9a-f]{12}\.model\.json$/);
    const reason = JSON.parse(await readFile(join(store.dir, files[1] as string), "utf8"));
    expect(reason).toMatchObject({ parent: modelVersion(model), trigger: "manual" });
    expect(reason.flaggedAfter - reason.flaggedBefore).toBeGreaterThan(0.05);
  });

  it("retrains on schedule from observe(), once the sample spans a day", async () => {
    let detector = createDetector(model);
    const holder = { current: () => detector, swap: (d: Detector) => (detector = d) };
    const learner = createLearner({
      models: holder,
      model,
      fit: fitInProcess,
      logger: quiet,
      reference: history.slice(-1000),
      retrainEveryMs: 6 * 3_600_000,
    });
    const stream = simulate(5, DEFAULT_START_MS + 2 * DAY, 2);
    const outcomes: string[] = [];
    const reasons: string[] = [];
    const scores = new Float64Array(100);
    for (let i = 0; i < stream.length; i += 100) {
      const batch = stream.slice(i, i + 100);
      detector.scoreBatch(batch, scores);
      learner.observe(batch, scores, detector.threshold);
      const p = learner.pending();
      if (p === undefined) continue;
      const o = await p;
      outcomes.push(o.status);
      if (o.status === "skipped") reasons.push(o.reason);
    }
    // Skipped until the sample spans 24 h, then promoted.
    expect(outcomes[0]).toBe("skipped");
    expect(reasons.every((r) => /a retrain needs 24 h/.test(r))).toBe(true);
    expect(outcomes.slice(outcomes.indexOf("promoted"))).not.toContain("skipped");
    expect(outcomes).toContain("promoted");
    expect(detector.info.lineage?.trigger).toBe("schedule");
  });
});

describe("openModelStore()", () => {
  it("resumes from the newest learned model that loads, skipping a corrupt one", async () => {
    const dir = await tempDir();
    const store = await openModelStore(dir);
    const a = trainModel(simulate(6, DEFAULT_START_MS, 1), { seed: 1, nEstimators: 10 });
    const b = trainModel(simulate(7, DEFAULT_START_MS, 1), { seed: 1, nEstimators: 10 });
    await store.saveLearned(a);
    const newest = await store.saveLearned(b);
    await store.saveRefused(b, { reason: "test" });
    // A restart: a fresh store over the same directory.
    const again = await openModelStore(dir);
    expect(modelVersion((await again.newestGood(() => {}))?.model ?? a)).toBe(modelVersion(b));
    await writeFile(newest, "{ truncated");
    const skipped: string[] = [];
    const resumed = await again.newestGood((path) => skipped.push(path));
    expect(skipped).toEqual([newest]);
    expect(resumed && modelVersion(resumed.model)).toBe(modelVersion(a));
    expect(await again.saveLearned(a)).toMatch(/learned-000004-/);
  });
});
