import { describe, expect, it } from "vitest";
import { UsageError } from "../cli/usage-error.js";
import { parseBrokers, parseScorerArgs } from "./args.js";

const required = ["--brokers", "127.0.0.1:9092", "--in", "telemetry", "--out", "verdicts"];

describe("parseScorerArgs()", () => {
  it("fills the defaults around the three required flags", () => {
    expect(parseScorerArgs(required)).toMatchObject({
      brokers: ["127.0.0.1:9092"],
      input: "telemetry",
      output: "verdicts",
      group: "netanomaly-scorer",
      format: "json",
      deadLetter: "telemetry.dead-letter",
      alerts: undefined,
      model: "models/default.model.json",
      threshold: undefined,
      batch: 1000,
      sessionTimeoutMs: 10_000,
    });
  });

  it("takes brokers and model from the environment, the flags winning", () => {
    const env = { NETANOMALY_KAFKA_BROKERS: "k1:9092,k2:9092", NETANOMALY_MODEL: "/m.json" };
    const a = parseScorerArgs(["--in", "a", "--out", "b"], env);
    expect(a.brokers).toEqual(["k1:9092", "k2:9092"]);
    expect(a.model).toBe("/m.json");
    expect(parseScorerArgs([...required, "--model", "x.json"], env).model).toBe("x.json");
  });

  it("says which required flag is missing", () => {
    expect(() => parseScorerArgs(["--in", "a", "--out", "b"])).toThrow(/--brokers is required/);
    expect(() => parseScorerArgs(["--brokers", "h:1", "--out", "b"])).toThrow(/--in is required/);
    expect(() => parseScorerArgs(["--brokers", "h:1", "--in", "a"])).toThrow(/--out is required/);
  });

  it("rejects bad values naming the flag", () => {
    expect(() => parseScorerArgs([...required, "--format", "avro"])).toThrow(
      "--format must be one of json|protobuf, got avro",
    );
    expect(() => parseScorerArgs([...required, "--threshold", "0"])).toThrow(/--threshold/);
    expect(() => parseScorerArgs([...required, "--batch", "0"])).toThrow(/--batch/);
    expect(() => parseScorerArgs([...required, "--alerts", "bad topic"])).toThrow(/--alerts/);
    expect(() => parseScorerArgs(["--brokers", "h:1", "--in", "t", "--out", "t"])).toThrow(
      /different topics/,
    );
    expect(() => parseScorerArgs([...required, "--bogus"])).toThrow(UsageError);
  });

  it("needs nothing with --help", () => {
    expect(parseScorerArgs(["--help"]).help).toBe(true);
  });
});

describe("parseBrokers()", () => {
  it("splits and trims a comma list", () => {
    expect(parseBrokers(" a:1, [::1]:9092 ,b.example:65535")).toEqual([
      "a:1",
      "[::1]:9092",
      "b.example:65535",
    ]);
  });

  it("names the entry that is not HOST:PORT", () => {
    expect(() => parseBrokers("a:1,b")).toThrow('--brokers entries must be HOST:PORT, got "b"');
    expect(() => parseBrokers("a:70000")).toThrow(/a:70000/);
    expect(() => parseBrokers(" , ")).toThrow(/at least one/);
  });
});
