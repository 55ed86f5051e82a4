import { describe, expect, it } from "vitest";
import { parseAgentArgs } from "../agent/args.js";

describe("parseAgentArgs() --sink kafka", () => {
  it("publishes to the topic on the brokers instead of a server", () => {
    const { options } = parseAgentArgs([
      ...["--sink", "kafka", "--brokers", "k1:9092, k2:9092", "--topic", "telemetry"],
    ]);
    expect(options.kafka).toEqual({ brokers: ["k1:9092", "k2:9092"], topic: "telemetry" });
    expect(options.send).toBe(true);
  });

  it("sends with --print too (--print alone is a dry run)", () => {
    const args = ["--print", "--sink", "kafka", "--brokers", "k:1", "--topic", "t"];
    expect(parseAgentArgs(args).options.send).toBe(true);
    expect(parseAgentArgs(["--print"]).options.send).toBe(false);
  });

  it("names what is missing or wrong", () => {
    expect(() => parseAgentArgs(["--sink", "kafka", "--topic", "t"])).toThrow(/--brokers/);
    expect(() => parseAgentArgs(["--sink", "kafka", "--brokers", "k:1"])).toThrow(/--topic/);
    expect(() => parseAgentArgs(["--sink", "kafka", "--brokers", "k", "--topic", "t"])).toThrow(
      '--brokers entries must be HOST:PORT, got "k"',
    );
    expect(() => parseAgentArgs(["--sink", "nats"])).toThrow("--sink must be one of grpc|kafka");
    expect(() => parseAgentArgs(["--brokers", "k:1"])).toThrow(
      "--brokers and --topic need --sink kafka",
    );
    expect(() =>
      parseAgentArgs([
        "--sink",
        "kafka",
        "--brokers",
        "k:1",
        "--topic",
        "t",
        "--target",
        "http://x",
      ]),
    ).toThrow(/mutually exclusive/);
  });

  it("ignores NETANOMALY_TARGET when publishing to Kafka", () => {
    const env = { NETANOMALY_TARGET: "http://server:50051" };
    const { options } = parseAgentArgs(
      ["--sink", "kafka", "--brokers", "k:1", "--topic", "t"],
      env,
    );
    expect(options.kafka?.topic).toBe("t");
  });
});
