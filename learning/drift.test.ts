import { describe, expect, it } from "vitest";
import { createDetector, trainModel } from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createDriftStream, ROLLOUT_APP } from "../telemetry/scenarios-drift.js";
import { createSimulator, DEFAULT_START_MS } from "../telemetry/simulator.js";
import { measureDrift } from "./drift.js";

function simulate(seed: number, n: number): NetworkEvent[] {
  const sim = createSimulator({ seed, startMs: DEFAULT_START_MS });
  return Array.from({ length: n }, () => sim.next().event);
}

describe("measureDrift()", () => {
  const train = simulate(1, 4000);
  const model = trainModel(train, { seed: 1, nEstimators: 30 });
  const detector = createDetector(model);

  it("finds little drift in more of the same traffic", () => {
    const r = measureDrift(model, detector, train.slice(0, 2000), simulate(1, 4000).slice(2000));
    expect(r.features).toHaveLength(model.featureSpec.features.length);
    expect(r.scorePsi).toBeLessThan(0.1);
    expect(r.referenceRows).toBe(2000);
  });

  it("finds the drift of a rollout: a new process everywhere", () => {
    const after = [...createDriftStream({ seed: 2, days: 3, changeDay: 1, rolloutShare: 0.3 })]
      .filter((d) => d.phase === "after")
      .map((d) => d.event)
      .slice(0, 2000);
    expect(after.some((e) => e.processPath === ROLLOUT_APP.path)).toBe(true);
    const r = measureDrift(model, detector, train.slice(0, 2000), after);
    expect(r.maxFeaturePsi).toBeGreaterThan(0.5);
    expect(r.scorePsi).toBeGreaterThan(0.25);
    expect(r.features.find((f) => f.feature === r.worstFeature)?.psi).toBe(r.maxFeaturePsi);
  });
});
