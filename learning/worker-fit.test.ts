import { afterAll, describe, expect, it } from "vitest";
import { serializeModel, trainModel, trainModelInWorkers } from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createSimulator } from "../telemetry/simulator.js";
import { createWorkerFit } from "./worker-fit.js";

function events(n: number): NetworkEvent[] {
  const sim = createSimulator({ seed: 4 });
  return Array.from({ length: n }, () => sim.next().event);
}

describe("createWorkerFit()", () => {
  const worker = createWorkerFit();
  afterAll(() => worker.close());
  const sample = events(600);
  const options = { nEstimators: 20, maxSamples: 128, seed: 9 };

  it("trains in its worker the model trainModel trains in process", async () => {
    const model = await worker.fit(sample, options);
    expect(serializeModel(model)).toBe(serializeModel(trainModel(sample, options)));
  });

  it("grows the forest in more workers with fitWorkers: the per-tree model, whatever their number", async () => {
    const model = await worker.fit(sample, { ...options, fitWorkers: 2 });
    expect(model.params.seeding).toBe("per-tree");
    expect(serializeModel(model)).toBe(
      serializeModel(await trainModelInWorkers(sample, { ...options, fitWorkers: 1 })),
    );
    expect(model.forest).not.toEqual(trainModel(sample, options).forest);
  });

  it("fails the fit with the worker's message on bad options", async () => {
    await expect(worker.fit(sample, { ...options, fitWorkers: 0 })).rejects.toThrow(
      /retrain failed: workers must be an integer in \[1, 256\], got 0/,
    );
  });
});
