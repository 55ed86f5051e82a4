import { describe, expect, it } from "vitest";
import {
  BEACON,
  createDriftStream,
  MOVED_SERVICE,
  ROLLOUT_APP,
  SLOW_BEACON,
} from "./scenarios-drift.js";

const HOUR = 3_600_000;
const timeOf = (e: { timestamp?: { seconds: bigint; nanos: number } }) =>
  Number(e.timestamp?.seconds ?? 0n) * 1000 + (e.timestamp?.nanos ?? 0) / 1e6;

describe("createDriftStream()", () => {
  const start = Date.UTC(2024, 11, 9);
  const stream = [...createDriftStream({ seed: 3, startMs: start, days: 3, changeDay: 1 })];
  const change = start + 24 * HOUR;

  it("changes at the change day's midnight, timestamps never decreasing", () => {
    for (let i = 1; i < stream.length; i++)
      expect(timeOf(stream[i]?.event ?? {})).toBeGreaterThanOrEqual(
        timeOf(stream[i - 1]?.event ?? {}),
      );
    for (const d of stream) expect(d.phase).toBe(timeOf(d.event) < change ? "before" : "after");
    expect(timeOf(stream.at(-1)?.event ?? {})).toBeLessThan(start + 3 * 24 * HOUR);
  });

  it("rolls the new application out to every host after the change, and only then", () => {
    const rollout = stream.filter((d) => d.event.processPath === ROLLOUT_APP.path);
    expect(rollout.every((d) => d.phase === "after" && d.change === "rollout")).toBe(true);
    expect(new Set(rollout.map((d) => d.event.sourceIp)).size).toBe(8);
  });

  it("moves the service to its new addresses after the change", () => {
    const moved = stream.filter(
      (d) => d.label === "normal" && d.event.destDomain === MOVED_SERVICE.domain,
    );
    const after = moved.filter((d) => d.phase === "after");
    expect(after.length).toBeGreaterThan(0);
    expect(
      after.every((d) => (MOVED_SERVICE.ips as readonly string[]).includes(d.event.destIp)),
    ).toBe(true);
    expect(
      moved
        .filter((d) => d.phase === "before")
        .some((d) => (MOVED_SERVICE.ips as readonly string[]).includes(d.event.destIp)),
    ).toBe(false);
  });

  it("repeats the slow beacon from one host every 5 minutes, 150 times", () => {
    const beacons = stream.filter((d) => d.label === SLOW_BEACON);
    expect(beacons.map((d) => d.repetition)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(new Set(beacons.map((d) => d.event.sourceIp))).toEqual(new Set([BEACON.host]));
    expect(timeOf(beacons[1]?.event ?? {}) - timeOf(beacons[0]?.event ?? {})).toBe(5 * 60_000);
    expect(timeOf(beacons[0]?.event ?? {})).toBe(change + HOUR);
  });

  it("is the same stream for the same seed", () => {
    const again = [...createDriftStream({ seed: 3, startMs: start, days: 3, changeDay: 1 })];
    expect(again.length).toBe(stream.length);
    expect(again[500]?.event).toEqual(stream[500]?.event);
  });
});
