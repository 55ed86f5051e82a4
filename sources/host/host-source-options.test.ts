import { describe, expect, it } from "vitest";
import { sourceNamed } from "../registry.js";
import { createHostCollector, hostSource } from "./host-source.js";

const ctx = { signal: new AbortController().signal, onSkip: () => {}, onNotice: () => {} };

describe("hostSource", () => {
  it("is registered as the live source named host", () => {
    expect(sourceNamed("host")).toBe(hostSource);
    expect(hostSource.kind).toBe("live");
  });

  it("rejects an interval that is not a positive number of seconds", () => {
    expect(() => hostSource.open({ intervalS: 0 }, ctx)).toThrow(
      "--interval must be a positive number of seconds, got 0",
    );
    expect(() => hostSource.open({ intervalS: Number.NaN }, ctx)).toThrow(/got NaN/);
    expect(() => createHostCollector({ reportS: -1 }, ctx)).toThrow(/report interval .* got -1/);
  });
});
