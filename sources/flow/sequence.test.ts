import { describe, expect, it } from "vitest";
import { SequenceTracker } from "./sequence.js";

describe("SequenceTracker.observe()", () => {
  it("accepts the expected number and reports how many were missed", () => {
    const s = new SequenceTracker();
    expect(s.observe("a", 10, [15])).toBeUndefined(); // first packet: nothing to compare
    expect(s.observe("a", 15, [20])).toBeUndefined();
    expect(s.observe("a", 27, [30])).toEqual({
      got: 27,
      expected: 20,
      kind: "missing",
      distance: 7,
    });
    expect(s.observe("b", 0, [1])).toBeUndefined(); // another stream
  });

  it("wraps modulo 2^32 (RFC 7011 §3.1) and tells a step back from a gap", () => {
    const s = new SequenceTracker();
    s.observe("a", 2 ** 32 - 2, [2 ** 32 + 3]);
    expect(s.observe("a", 3, [4])).toBeUndefined();
    expect(s.observe("a", 1, [2])).toEqual({ got: 1, expected: 4, kind: "behind", distance: 3 });
  });

  it("also accepts softflowd's count, which includes the message's own records", () => {
    const s = new SequenceTracker();
    s.observe("a", 24, [49], (prev) => [prev + 25]);
    // softflowd: 24 + this message's 32 records = 56, where RFC 7011 expects 24 + 25 = 49.
    expect(s.observe("a", 56, [88], (prev) => [prev + 32])).toBeUndefined();
    expect(s.observe("a", 70, [99], (prev) => [prev + 11])).toEqual({
      got: 70,
      expected: 88,
      kind: "behind",
      distance: 18,
    });
  });

  it("remembers at most maxStreams streams", () => {
    const s = new SequenceTracker(2);
    s.observe("a", 0, [1]);
    s.observe("b", 0, [1]);
    s.observe("c", 0, [1]);
    expect(s.observe("a", 9, [10])).toBeUndefined(); // forgotten: a fresh start
    expect(s.observe("c", 9, [10])).toBeDefined();
  });
});
