import { describe, expect, it } from "vitest";
import { dueAtMs, dueCount } from "./open-loop.js";

describe("open-loop schedule", () => {
  it("sends a request once its time has come, not one interval later", () => {
    // 20 requests/s: one every 50 ms, the first at the start.
    expect(dueCount(-1, 20)).toBe(0);
    expect(dueCount(0, 20)).toBe(1);
    expect(dueCount(49.9, 20)).toBe(1);
    expect(dueCount(50, 20)).toBe(2);
    expect(dueCount(1000, 20)).toBe(21);
    expect(dueAtMs(3, 20)).toBe(150);
  });

  it("never sends early and never holds back a due request, at awkward rates", () => {
    for (const perSecond of [3, 7, 640, 333.3, 1e5 / 3]) {
      for (let i = 0; i < 2000; i++) {
        const at = dueAtMs(i, perSecond);
        // At its own time request i is due (i + 1 in all); a hair before, it is not.
        expect(dueCount(at, perSecond)).toBe(i + 1);
        expect(dueCount(at * (1 - 1e-12) - 1e-9, perSecond)).toBe(i);
      }
    }
  });
});
