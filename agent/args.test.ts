import { describe, expect, it } from "vitest";
import { UsageError } from "../cli/usage-error.js";
import { parseAgentArgs } from "./args.js";

describe("parseAgentArgs()", () => {
  it("maps flags onto runAgent options", () => {
    const a = parseAgentArgs([
      "--target",
      "http://127.0.0.1:9",
      "--rate",
      "0",
      "--count",
      "10",
      "--anomaly-rate",
      "0.1",
      "--batch",
      "50",
      "--seed",
      "3",
      "--api-key",
      "k",
      "--json",
    ]);
    expect(a.json).toBe(true);
    expect(a.options).toEqual({
      target: "http://127.0.0.1:9",
      rate: 0,
      count: 10,
      anomalyRate: 0.1,
      batch: 50,
      seed: 3,
      apiKey: "k",
    });
  });

  it("takes TLS files for an https target, and the key from NETANOMALY_API_KEY", () => {
    const a = parseAgentArgs(
      [
        "--target",
        "https://127.0.0.1:9",
        "--tls-ca",
        "ca.pem",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
      ],
      { NETANOMALY_API_KEY: "from-env" },
    );
    expect(a.options).toEqual({
      target: "https://127.0.0.1:9",
      apiKey: "from-env",
      tls: { ca: "ca.pem", cert: "c.pem", key: "k.pem" },
    });
    expect(parseAgentArgs(["--api-key", "flag"], { NETANOMALY_API_KEY: "env" }).options).toEqual({
      apiKey: "flag",
    });
  });

  it("takes the window, a retry bound and NETANOMALY_TARGET", () => {
    expect(parseAgentArgs(["--window", "4", "--max-retries", "0"]).options).toEqual({
      window: 4,
      maxAttempts: 0,
    });
    expect(parseAgentArgs([], { NETANOMALY_TARGET: "http://10.0.0.1:1" }).options).toEqual({
      target: "http://10.0.0.1:1",
    });
    expect(
      parseAgentArgs(["--target", "http://a:1"], { NETANOMALY_TARGET: "http://b:2" }).options,
    ).toEqual({ target: "http://a:1" });
  });

  it("gives defaults to runAgent when no flag is set", () => {
    expect(parseAgentArgs([])).toEqual({ options: {}, json: false, help: false });
  });

  it.each([
    [["--rate=-1"], /--rate must be a number >= 0, got "-1"/],
    [["--anomaly-rate", "2"], /--anomaly-rate must be in \[0, 1\], got "2"/],
    [["--batch", "1001"], /--batch must be an integer in \[1, 1000\]/],
    [["--count", "5", "--duration", "1"], /mutually exclusive/],
    [["--target", "127.0.0.1:50051"], /--target must be an http\(s\) URL/],
    [["--bogus"], /^unknown flag --bogus$/],
    [["--rate"], /^--rate needs a value$/],
    [
      ["--target", "https://h:1", "--tls-cert", "c.pem"],
      /--tls-cert and --tls-key must be given together/,
    ],
    [["--tls-ca", "ca.pem"], /need an https:\/\/ --target/],
    [["--max-retries=-1"], /--max-retries must be a non-negative integer/],
    [["--window", "0"], /--window must be an integer in \[1, 1024\]/],
  ])("rejects %j with a usage error", (argv, message) => {
    expect(() => parseAgentArgs(argv)).toThrow(UsageError);
    expect(() => parseAgentArgs(argv)).toThrow(message);
  });
});

describe("parseAgentArgs() sources", () => {
  it("maps --source, --input and --print; --print alone is a dry run", () => {
    const a = parseAgentArgs([
      "--source",
      "zeek",
      "--input",
      "conn.log",
      "--dns",
      "dns.log",
      "--print",
    ]);
    expect(a.options).toMatchObject({
      source: "zeek",
      sourceOptions: { input: "conn.log", dns: "dns.log" },
      print: true,
      send: false,
    });
    const b = parseAgentArgs(["--print", "--target", "http://127.0.0.1:9"]);
    expect(b.options.send).toBeUndefined();
  });

  it("keeps --replay as --source csv", () => {
    expect(parseAgentArgs(["--replay", "x.csv"]).options).toMatchObject({
      source: "csv",
      sourceOptions: { input: "x.csv" },
    });
  });

  it.each([
    [["--source", "nope"], /--source must be one of sim\|csv\|jsonl/],
    [["--source", "zeek"], "--source zeek reads a file: give --input FILE (or - for stdin)"],
    [["--source", "host", "--input", "x"], /--source host reads no file/],
    [["--input", "x"], /--input needs --source/],
    [["--source", "ipfix", "--listen", "nohost"], '--listen must be HOST:PORT, got "nohost"'],
    [["--source", "sim", "--follow"], "--follow applies to a file source reading a file"],
    [["--replay", "a.csv", "--source", "zeek"], /cannot be combined with --source zeek/],
    [["--count", "-3"], '--count must be a non-negative integer, got "-3"'],
  ])("rejects %j", (argv, message) => {
    expect(() => parseAgentArgs(argv)).toThrow(UsageError);
    expect(() => parseAgentArgs(argv)).toThrow(message);
  });
});
