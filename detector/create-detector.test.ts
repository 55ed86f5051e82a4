import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { compileForest } from "./compiled-forest.js";
import { createDetector } from "./create-detector.js";
import { createTelemetryFeaturizer } from "./features.js";
import { scoreRowReference } from "./isolation-forest.js";
import { exfiltrationEvent, normalEvents } from "./testdata/events.js";
import { trainModel } from "./train.js";

const training = normalEvents(2000);
const model = trainModel(training, { seed: 11, contamination: 0.01 });
const detector = createDetector(model);

describe("createDetector()", () => {
  it("scores batches and single events identically to the reference walk", () => {
    const events = normalEvents(300, 99);
    const out = new Float64Array(events.length);
    detector.scoreBatch(events, out);
    const featurizer = createTelemetryFeaturizer(model.featureSpec as never);
    const row = new Float64Array(featurizer.nFeatures);
    events.forEach((e, i) => {
      featurizer.featurize(e, row);
      expect(out[i]).toBe(scoreRowReference(model.forest, row));
      expect(detector.score(e)).toBe(out[i]);
    });
  });

  it("flags about the contamination share of its training data", () => {
    const out = new Float64Array(training.length);
    detector.scoreBatch(training, out);
    const flagged = out.filter((s) => s >= detector.threshold).length;
    expect(flagged / training.length).toBeGreaterThan(0.005);
    expect(flagged / training.length).toBeLessThan(0.02);
  });

  it("flags an exfiltration event and explains it by volume and rarity", () => {
    const event = exfiltrationEvent();
    expect(detector.score(event)).toBeGreaterThan(detector.threshold);
    const top = detector.explain(event, 5);
    expect(top).toHaveLength(5);
    for (let i = 1; i < top.length; i++)
      expect(top[i - 1]?.contribution).toBeGreaterThanOrEqual(top[i]?.contribution ?? 0);
    const names = top.map((c) => c.feature);
    expect(names.some((n) => n.startsWith("bytes_sent") || n.endsWith("rarity"))).toBe(true);
  });

  it("scoreAndExplain gives score() and explain() of the same event, whatever came before", () => {
    const events = [exfiltrationEvent(), create(NetworkEventSchema, {}), exfiltrationEvent()];
    for (const event of events) {
      const both = detector.scoreAndExplain(event, 5);
      expect(both.score).toBe(detector.score(event));
      expect(both.contributions).toEqual(detector.explain(event, 5));
    }
    expect(detector.scoreAndExplain(events[0] as NetworkEvent, 26).contributions).toHaveLength(26);
  });

  it("explains with the top contributions of the forest's attribution, ties in feature order", () => {
    const featurizer = createTelemetryFeaturizer(model.featureSpec as never);
    const forest = compileForest(model.forest);
    const nf = featurizer.nFeatures;
    const row = new Float64Array(nf);
    const events = [...normalEvents(200, 5), exfiltrationEvent(), create(NetworkEventSchema, {})];
    let compared = 0;
    let ties = 0;
    for (const event of events) {
      featurizer.featurize(event, row);
      // Events whose context tail raises the score get a tail share too; compare the others.
      if (detector.score(event) !== scoreRowReference(model.forest, row)) continue;
      const attribution = new Float64Array(nf);
      forest.attributeRow(row, attribution);
      // Array.prototype.sort is stable: equal contributions stay in feature order.
      const order = Array.from({ length: nf }, (_, f) => f).sort(
        (a, b) => (attribution[b] as number) - (attribution[a] as number),
      );
      for (const top of [0, 1, 3, 5, nf]) {
        const expected = order.slice(0, top).map((f) => ({
          feature: featurizer.names[f],
          contribution: attribution[f],
          value: row[f],
        }));
        expect(detector.explain(event, top)).toEqual(expected);
      }
      for (let i = 1; i < nf; i++)
        if (attribution[order[i] as number] === attribution[order[i - 1] as number]) ties++;
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
    expect(ties).toBeGreaterThan(0);
  });

  it("scores an empty event and unseen categories without error", () => {
    const empty = create(NetworkEventSchema, {});
    const s = detector.score(empty);
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThanOrEqual(1);
    const odd = create(NetworkEventSchema, {
      protocol: "SCTP",
      processPath: "/usr/bin/unheard-of",
      destIp: "fe80::1",
    });
    expect(Number.isFinite(detector.score(odd))).toBe(true);
  });

  it("takes verdicts at an overridden threshold without changing scores", () => {
    const strict = detector.withThreshold(0.9);
    expect(strict.threshold).toBe(0.9);
    expect(strict.info).toBe(detector.info);
    expect(strict.score(exfiltrationEvent())).toBe(detector.score(exfiltrationEvent()));
    expect(() => detector.withThreshold(0)).toThrow(/threshold must be in \(0, 1\]/);
  });

  it("describes the model", () => {
    expect(detector.info).toMatchObject({
      nEstimators: 100,
      maxSamples: 256,
      maxDepth: 8,
      seed: 11,
      contamination: 0.01,
      trainingRows: 2000,
    });
    expect(detector.info.version).toMatch(/^[0-9a-f]{12}$/);
    expect(detector.info.features).toContain("process_dest_rarity");
  });
});
