import { describe, expect, it } from "vitest";
import { boostScore, fitTailStats, TAIL_FEATURES, tailExcess } from "./context-tails.js";
import { createDetector } from "./create-detector.js";
import { normalEvents } from "./testdata/events.js";
import { trainModel } from "./train.js";

const training = normalEvents(2000);
const model = trainModel(training, { seed: 3 });
const detector = createDetector(model);
const plain = createDetector({
  ...model,
  featureSpec: { ...model.featureSpec, tails: undefined },
} as typeof model);

/** A training event of this process, changed as given. */
function like(path: RegExp, change: Partial<(typeof training)[number]>) {
  const base = training.find((e) => path.test(e.processPath));
  if (base === undefined) throw new Error(`no ${path} in the fixture`);
  return { ...base, ...change };
}

describe("context tails", () => {
  it("leave every training row's score, and so the calibrated threshold, as the forest's", () => {
    const a = new Float64Array(training.length);
    const b = new Float64Array(training.length);
    detector.scoreBatch(training, a);
    plain.scoreBatch(training, b);
    expect([...a]).toEqual([...b]);
    expect(model.featureSpec.kind === "telemetry" && model.featureSpec.tails).toHaveLength(
      TAIL_FEATURES.length,
    );
  });

  it("flag the everyday browser uploading 50 MB to its usual site, and say it was the volume", () => {
    const upload = like(/chrome/, { bytesSent: 50_000_000n });
    const { score, contributions } = detector.scoreAndExplain(upload);
    expect(plain.score(upload)).toBeLessThan(model.threshold);
    expect(score).toBeGreaterThanOrEqual(model.threshold);
    expect(contributions[0]?.feature).toBe("bytes_sent_vs_baseline");
    expect(detector.score(upload)).toBe(score);
  });

  it("flag a known browser under a parent it never had, naming the parent", () => {
    const odd = like(/chrome/, { parentProcess: "winword.exe" });
    const { score, contributions } = detector.scoreAndExplain(odd);
    expect(score).toBeGreaterThanOrEqual(model.threshold);
    expect(contributions[0]?.feature).toBe("parent_given_process");
  });

  it("flag a lookalike of a known domain, naming the domain", () => {
    const fake = like(/svchost/, { destDomain: "dns-google.com", dnsQuery: "" });
    const { score, contributions } = detector.scoreAndExplain(fake);
    expect(score).toBeGreaterThanOrEqual(model.threshold);
    // Both what the domain imitates and that this service never used it take the credit.
    expect(["dest_lookalike", "dest_given_process"]).toContain(contributions[0]?.feature);
    expect(contributions.map((c) => c.feature)).toContain("dest_lookalike");
  });
});

describe("fitTailStats() / tailExcess() / boostScore()", () => {
  it("measure excess beyond the training maximum in scales, with a floor of one", () => {
    const k = TAIL_FEATURES.length;
    const values = new Float64Array(3 * k);
    values[0] = 0;
    values[k] = 2;
    values[2 * k] = 10;
    const stats = fitTailStats(values, 3);
    expect(stats[0]).toEqual([10, 8]);
    expect(stats[1]).toEqual([0, 1]);
    const row = new Float64Array(k);
    row[0] = 26;
    expect(tailExcess(row, stats)).toEqual({ excess: 2, index: 0 });
  });

  it("change nothing within the dead zone and rise monotonically towards 1 past it", () => {
    expect(boostScore(0.6, 0)).toBe(0.6);
    expect(boostScore(0.6, 0.5)).toBe(0.6);
    expect(boostScore(0.6, 1)).toBeGreaterThan(0.6);
    expect(boostScore(0.6, 3)).toBeGreaterThan(boostScore(0.6, 1));
    expect(boostScore(0.6, 50)).toBeLessThanOrEqual(1);
  });
});
