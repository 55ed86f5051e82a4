import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.js";

const env = {};

describe("parseConfig() learning flags", () => {
  it("learns nothing by default", () => {
    expect(parseConfig([], env).learn).toBeUndefined();
  });

  it("reads --learn with its defaults and the learned-models directory beside the model", () => {
    const c = parseConfig(["--learn", "--model", "/m/x.model.json"], env);
    expect(c.learn).toEqual({
      dir: "/m/learned",
      everyEvents: undefined,
      everyMs: 3_600_000,
      guardHosts: 3,
      guardMinutes: 30,
      guardRate: 50,
      benign: undefined,
      driftWarn: 0.25,
      driftRetrain: 0.5,
      fitWorkers: undefined,
    });
  });

  it("reads --fit-workers as a count or auto, and refuses 0 and words", () => {
    expect(parseConfig(["--learn", "--fit-workers", "2"], env).learn?.fitWorkers).toBe(2);
    expect(
      parseConfig(["--learn", "--fit-workers", "auto"], env).learn?.fitWorkers,
    ).toBeGreaterThan(0);
    expect(() => parseConfig(["--learn", "--fit-workers", "0"], env)).toThrow(
      '--fit-workers must be an integer in [1, 256] or "auto", got 0',
    );
    expect(() => parseConfig(["--learn", "--fit-workers", "abc"], env)).toThrow(
      '--fit-workers must be an integer in [1, 256] or "auto", got abc',
    );
    expect(() => parseConfig(["--fit-workers", "2"], env)).toThrow("--fit-workers needs --learn");
  });

  it("reads --retrain-every as events, minutes or hours", () => {
    expect(parseConfig(["--learn", "--retrain-every", "5000"], env).learn?.everyEvents).toBe(5000);
    expect(parseConfig(["--learn", "--retrain-every", "15m"], env).learn?.everyMs).toBe(900_000);
    expect(parseConfig(["--learn", "--retrain-every", "2h"], env).learn?.everyMs).toBe(7_200_000);
  });

  it("names the flag and value it rejects", () => {
    expect(() => parseConfig(["--learn", "--retrain-every", "5s"], env)).toThrow(
      '--retrain-every must be N events, Nm minutes or Nh hours (N ≥ 1), got "5s"',
    );
    expect(() => parseConfig(["--learn", "--guard-hosts", "0"], env)).toThrow(
      /--guard-hosts must be an integer ≥ 1, got "0"/,
    );
    expect(() =>
      parseConfig(["--learn", "--drift-warn", "0.6", "--drift-retrain", "0.3"], env),
    ).toThrow(/--drift-retrain \(0.3\) must be at least --drift-warn \(0.6\)/);
  });

  it("refuses a learning flag without --learn", () => {
    expect(() => parseConfig(["--benign", "b.txt"], env)).toThrow("--benign needs --learn");
  });
});
