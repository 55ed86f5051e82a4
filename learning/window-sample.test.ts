import { describe, expect, it } from "vitest";
import { simEvent } from "../telemetry/sim-event.js";
import { createWindowSample } from "./window-sample.js";

const HOUR = 3_600_000;
const event = (timeMs: number) =>
  simEvent({
    timeMs,
    processPath: "p",
    processHash: "h",
    sourceIp: "10.0.0.1",
    destIp: "10.0.0.2",
    destDomain: "",
    destPort: 443,
    bytesSent: 1,
    bytesRecv: 1,
    protocol: "TCP",
    dnsQuery: "",
    parentProcess: "",
    userContext: "",
  });

describe("createWindowSample()", () => {
  it("never holds more than windows × perWindow events", () => {
    const s = createWindowSample({ windowMs: HOUR, windows: 3, perWindow: 10, seed: 1 });
    for (let i = 0; i < 10_000; i++) s.offer(event(i * 1000), i * 1000);
    expect(s.size).toBeLessThanOrEqual(30);
    expect(s.windows()).toHaveLength(3);
    expect(s.windows().every((w) => w.kept <= 10)).toBe(true);
    expect(s.windows().reduce((n, w) => n + w.kept, 0)).toBe(s.size);
  });

  it("drops windows older than the last `windows` and counts late events", () => {
    const s = createWindowSample({ windowMs: HOUR, windows: 2, perWindow: 5, seed: 1 });
    s.offer(event(0), 0);
    s.offer(event(HOUR), HOUR);
    s.offer(event(2 * HOUR), 2 * HOUR);
    expect(s.windows().map((w) => w.startMs)).toEqual([HOUR, 2 * HOUR]);
    s.offer(event(10), 10);
    expect(s.late).toBe(1);
    expect(s.size).toBe(2);
  });

  it("keeps a uniform share of a busy window", () => {
    const s = createWindowSample({ windowMs: HOUR, windows: 1, perWindow: 100, seed: 7 });
    for (let i = 0; i < 10_000; i++) s.offer(event(i * 100), i * 100);
    const times = s.sample(1).map((e) => Number(e.timestamp?.seconds));
    expect(times).toHaveLength(100);
    // A uniform sample of 0..999 s: its mean is near 500 s, not bunched at the start.
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    expect(mean).toBeGreaterThan(400);
    expect(mean).toBeLessThan(600);
  });

  it("halves an older window's share every halfLifeWindows", () => {
    const s = createWindowSample({ windowMs: HOUR, windows: 3, perWindow: 100, seed: 1 });
    for (let w = 0; w < 3; w++)
      for (let i = 0; i < 100; i++) s.offer(event(w * HOUR + i), w * HOUR + i);
    const byWindow = [0, 0, 0];
    for (const e of s.sample(1)) {
      const w = Math.floor((Number(e.timestamp?.seconds) * 1000) / HOUR);
      byWindow[w] = (byWindow[w] as number) + 1;
    }
    expect(byWindow).toEqual([25, 50, 100]);
  });

  it("rejects bounds that are not positive integers", () => {
    expect(() => createWindowSample({ windowMs: 0, windows: 1, perWindow: 1, seed: 1 })).toThrow(
      /windowMs/,
    );
  });
});
