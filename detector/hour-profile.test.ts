import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createDetector } from "./create-detector.js";
import { createTelemetryFeaturizer, fitTelemetryFeatures, TELEMETRY_FEATURES } from "./features.js";
import { ALL_BUCKETS, bucketMask, unseenHourRarity } from "./hour-profile.js";
import { parseModel, serializeModel } from "./model-file.js";
import { normalEvents } from "./testdata/events.js";
import { trainModel } from "./train.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 2024-12-02T00:00Z: the training week starts here. */
const WEEK = Date.UTC(2024, 11, 2);
const HOUR_RARITY = TELEMETRY_FEATURES.indexOf("process_hour_rarity");

/** A Windows service talking to its own server, at `ms`. */
function service(name: string, ms: number, host = 1): NetworkEvent {
  return create(NetworkEventSchema, {
    timestamp: timestampFromMs(ms),
    processPath: `C:\\Program Files\\${name}\\${name}.exe`,
    processHash: "0123456789ab",
    sourceIp: `192.168.1.${100 + host}`,
    destIp: "52.178.17.3",
    destDomain: `api.${name}.example`,
    destPort: 443,
    bytesSent: 2000n,
    bytesRecv: 6000n,
    protocol: "TCP",
    parentProcess: "services.exe",
    userContext: "SYSTEM",
  });
}

/**
 * A week of office traffic (08:00–18:00 each day), a nightly backup job
 * seen every night at 01:00–03:00 for the whole week, and an application
 * rolled out at midnight of the last day and seen only until 05:00.
 */
function trainingWeek(): NetworkEvent[] {
  const office = normalEvents(2100).map((e, i) => {
    const ms = Number(e.timestamp?.seconds ?? 0n) * 1000 + (i % 7) * DAY - 4 * DAY;
    return create(NetworkEventSchema, { ...e, timestamp: timestampFromMs(ms) });
  });
  const backup: NetworkEvent[] = [];
  for (let d = 0; d < 7; d++)
    for (let m = 0; m < 120; m += 10)
      backup.push(service("backup", WEEK + d * DAY + HOUR + m * 60_000, d % 3));
  const rollout: NetworkEvent[] = [];
  for (let m = 0; m < 300; m += 5)
    rollout.push(service("fleetsync", WEEK + 6 * DAY + m * 60_000, m % 5));
  return [...office, ...backup, ...rollout];
}

const training = trainingWeek();
const spec = fitTelemetryFeatures(training);
const featurizer = createTelemetryFeaturizer(spec);

function hourRarity(event: NetworkEvent, f = featurizer): number {
  const row = new Float64Array(f.nFeatures);
  f.featurize(event, row);
  return row[HOUR_RARITY] as number;
}

describe("bucketMask()", () => {
  it("marks the three-hour buckets of the day a time span passes through", () => {
    const s = (h: number) => (WEEK + h * HOUR) / 1000;
    expect(bucketMask(s(0), s(0))).toBe(0b1);
    expect(bucketMask(s(0), s(5))).toBe(0b11);
    expect(bucketMask(s(14), s(17.5))).toBe(0b110000);
    expect(bucketMask(s(23), s(25))).toBe(0b10000001);
    expect(bucketMask(s(2), s(22))).toBe(ALL_BUCKETS);
    expect(bucketMask(s(0), s(24 * 7))).toBe(ALL_BUCKETS);
  });
});

describe("unseenHourRarity()", () => {
  it("is the maximum inside the mask and the usual bucket's rarity outside it", () => {
    expect(unseenHourRarity(ALL_BUCKETS, 4, 9.5, 3)).toBe(9.5);
    expect(unseenHourRarity(0b11, 1, 9.5, 3)).toBe(9.5);
    expect(unseenHourRarity(0b11, 4, 9.5, 3)).toBe(3);
  });
});

describe("fitTelemetryFeatures() hour coverage", () => {
  it("records only the process whose history covers part of the training window's day", () => {
    // Rolled out at 00:00, last seen at 04:55: buckets 0 and 1 of the window's 8.
    expect(spec.hourCoverage).toEqual([["fleetsync.exe", 0b11]]);
  });

  it("records nothing when every process spans the window, as in a full-day training set", () => {
    expect(fitTelemetryFeatures(normalEvents(1000)).hourCoverage).toBeUndefined();
  });

  it("leaves a process seen once or twice out, however short its history", () => {
    const once = [
      ...training,
      service("oneoff", WEEK + 6 * DAY),
      service("oneoff", WEEK + 6 * DAY),
    ];
    expect(fitTelemetryFeatures(once).hourCoverage).toEqual([["fleetsync.exe", 0b11]]);
  });
});

describe("process_hour_rarity", () => {
  const afternoon = WEEK + 6 * DAY + 14 * HOUR;
  const logN1 = Math.log(training.length + 1);

  it("stays at its maximum for an unseen bucket of a long-established process", () => {
    expect(hourRarity(service("backup", afternoon))).toBe(logN1);
  });

  it("is the usual bucket's for an hour a process seen only for a few hours had no chance to be seen at", () => {
    const usual = hourRarity(service("fleetsync", WEEK + 6 * DAY + HOUR));
    expect(hourRarity(service("fleetsync", afternoon))).toBe(usual);
    expect(usual).toBeLessThan(logN1 - 3);
  });

  it("stays at its maximum for an unseen bucket the short history passed through", () => {
    // Seen 00:00–02:55 and 06:00–06:55, never in bucket 1 (03:00–05:59) between them.
    const gap = training.filter((e) => {
      const h = new Date(Number(e.timestamp?.seconds ?? 0n) * 1000).getUTCHours();
      return !(e.processPath.includes("fleetsync") && h >= 3);
    });
    for (let m = 0; m < 60; m += 5)
      gap.push(service("fleetsync", WEEK + 6 * DAY + 6 * HOUR + m * 60_000));
    const f = createTelemetryFeaturizer(fitTelemetryFeatures(gap));
    const at = (h: number) => hourRarity(service("fleetsync", WEEK + 6 * DAY + h * HOUR), f);
    expect(at(4)).toBe(Math.log(gap.length + 1));
    expect(at(14)).toBe(at(1));
  });

  it("is the maximum for the same process in a model file without hourCoverage (older files)", () => {
    const { hourCoverage: _, ...older } = spec;
    expect(hourRarity(service("fleetsync", afternoon), createTelemetryFeaturizer(older))).toBe(
      logN1,
    );
  });
});

describe("a detector trained on the week", () => {
  const model = trainModel(training, { seed: 5, contamination: 0.01 });
  const detector = createDetector(parseModel(serializeModel(model)));
  const afternoon = WEEK + 6 * DAY + 14 * HOUR;

  it("does not flag the new application at an hour it had no time to be seen at", () => {
    expect(detector.score(service("fleetsync", afternoon))).toBeLessThan(detector.threshold);
  });

  it("flags the nightly backup job in the afternoon", () => {
    expect(detector.score(service("backup", afternoon))).toBeGreaterThanOrEqual(detector.threshold);
  });

  it("flags the new application in the afternoon when its coverage is dropped", () => {
    const { hourCoverage: _, ...older } = model.featureSpec as typeof spec;
    const without = createDetector({ ...model, featureSpec: older });
    expect(without.score(service("fleetsync", afternoon))).toBeGreaterThanOrEqual(
      without.threshold,
    );
  });
});
