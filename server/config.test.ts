import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../cli/usage-error.js";
import { DEFAULT_MODEL, MAX_WORKERS, parseConfig, REPO_ROOT } from "./config.js";
import { availableCpus } from "./cpu-limit.js";

describe("parseConfig()", () => {
  it("defaults to 127.0.0.1:50051, info, and the repo's default model", () => {
    expect(parseConfig([], {})).toEqual({
      host: "127.0.0.1",
      port: 50051,
      model: DEFAULT_MODEL,
      logLevel: "info",
      threshold: undefined,
      security: {
        apiKeysEnv: undefined,
        apiKeysFile: undefined,
        authAll: false,
        insecure: false,
        tlsCert: undefined,
        tlsKey: undefined,
        clientCa: undefined,
        maxMessageBytes: 4 * 1024 * 1024,
        maxStreams: 100,
        rateLimitRps: 0,
        rateLimitEps: 0,
        idleTimeoutS: 60,
        maxConnections: 1024,
        maxConnectionsPerIp: 256,
        maxConnectionBodyBytes: 16 * 1024 * 1024,
        maxBodyBytes: 128 * 1024 * 1024,
        bodyTimeoutS: 30,
        headerTimeoutS: 10,
      },
      fastPath: true,
      workers: 1,
      operations: {
        metrics: undefined,
        alertFile: undefined,
        alertWebhook: undefined,
        alertWebhookSecret: undefined,
        alertSyslog: undefined,
        alertDedupS: 0,
        suppressions: undefined,
      },
      maxModelBytes: 64 * 1024 * 1024,
      anomalyLogRate: 100,
    });
    expect(DEFAULT_MODEL).toBe(resolve(REPO_ROOT, "models/default.model.json"));
  });

  it("reads NETANOMALY_* variables, and flags win over them", () => {
    const env = {
      NETANOMALY_HOST: "0.0.0.0",
      NETANOMALY_PORT: "6000",
      NETANOMALY_MODEL: "/m/env.json",
      NETANOMALY_LOG_LEVEL: "debug",
    };
    expect(parseConfig([], env)).toMatchObject({
      host: "0.0.0.0",
      port: 6000,
      model: "/m/env.json",
      logLevel: "debug",
    });
    expect(
      parseConfig(["--port", "0", "--model", "/m/flag.json", "--log-level", "warn"], env),
    ).toMatchObject({ host: "0.0.0.0", port: 0, model: "/m/flag.json", logLevel: "warn" });
  });

  it("reads API_KEYS and the security flags", () => {
    const config = parseConfig(
      [
        "--api-keys-file",
        "/k.txt",
        "--auth-all",
        "--insecure",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
        "--client-ca",
        "ca.pem",
        "--max-message-bytes",
        "65536",
        "--max-streams",
        "8",
        "--rate-limit-rps",
        "2.5",
        "--rate-limit-eps",
        "1000",
        "--idle-timeout",
        "2.5",
        "--max-connections",
        "500",
        "--max-connections-per-ip",
        "10",
        "--max-connection-body-bytes",
        "1048576",
        "--max-body-bytes",
        "8388608",
        "--body-timeout",
        "5",
        "--header-timeout",
        "2",
      ],
      { API_KEYS: "a,b" },
    );
    expect(config.security).toEqual({
      apiKeysEnv: "a,b",
      apiKeysFile: "/k.txt",
      authAll: true,
      insecure: true,
      tlsCert: "c.pem",
      tlsKey: "k.pem",
      clientCa: "ca.pem",
      maxMessageBytes: 65536,
      maxStreams: 8,
      rateLimitRps: 2.5,
      rateLimitEps: 1000,
      idleTimeoutS: 2.5,
      maxConnections: 500,
      maxConnectionsPerIp: 10,
      maxConnectionBodyBytes: 1048576,
      maxBodyBytes: 8388608,
      bodyTimeoutS: 5,
      headerTimeoutS: 2,
    });
  });

  it("reads the metrics and alert flags, and NETANOMALY_* for them", () => {
    const c = parseConfig(
      [
        "--metrics",
        "9464",
        "--alert-file",
        "alerts.jsonl",
        "--alert-webhook",
        "https://hooks.example/x",
        "--alert-syslog",
        "udp://127.0.0.1:514",
        "--alert-dedup",
        "30",
      ],
      { NETANOMALY_ALERT_WEBHOOK_SECRET: "s", NETANOMALY_SUPPRESSIONS: "rules.jsonl" },
    );
    expect(c.operations).toEqual({
      metrics: { host: "127.0.0.1", port: 9464 },
      alertFile: resolve("alerts.jsonl"),
      alertWebhook: "https://hooks.example/x",
      alertWebhookSecret: "s",
      alertSyslog: { transport: "udp", host: "127.0.0.1", port: 514 },
      alertDedupS: 30,
      suppressions: resolve("rules.jsonl"),
    });
  });

  it("rejects bad metrics and alert flags with a usage error naming them", () => {
    for (const [args, message] of [
      [["--metrics", "a:b"], /--metrics must be/],
      [["--alert-webhook", "ftp://x"], /--alert-webhook must be an http/],
      [["--alert-webhook-secret", "s"], /--alert-webhook-secret needs --alert-webhook/],
      [["--alert-syslog", "x:514"], /--alert-syslog must be tcp/],
      [["--alert-dedup=-1"], /--alert-dedup must be seconds/],
    ] as const) {
      expect(() => parseConfig(args, {})).toThrow(UsageError);
      expect(() => parseConfig(args, {})).toThrow(message);
    }
  });

  it("reads --dashboard as PORT or HOST:PORT, loopback by default", () => {
    expect(parseConfig(["--dashboard", "9090"], {}).dashboard).toEqual({
      host: "127.0.0.1",
      port: 9090,
    });
    expect(parseConfig(["--dashboard", "0.0.0.0:0"], {}).dashboard).toEqual({
      host: "0.0.0.0",
      port: 0,
    });
    expect(parseConfig([], { NETANOMALY_DASHBOARD: "[::1]:9091" }).dashboard).toEqual({
      host: "::1",
      port: 9091,
    });
    expect(parseConfig([], {}).dashboard).toBeUndefined();
    expect(() => parseConfig(["--dashboard", "localhost:99999"], {})).toThrow(
      /--dashboard must be PORT or HOST:PORT .* got "localhost:99999"/,
    );
    expect(() => parseConfig(["--dashboard", "9090", "--workers", "2"], {})).toThrow(
      "--dashboard needs a single server process",
    );
  });

  it("refuses a per-connection body bound below one message, and a process bound below it", () => {
    expect(() =>
      parseConfig(["--max-message-bytes", "65536", "--max-connection-body-bytes", "65536"], {}),
    ).toThrow(/--max-connection-body-bytes must be an integer in \[65541, /);
    expect(() =>
      parseConfig(["--max-connection-body-bytes", "20000000", "--max-body-bytes", "1000"], {}),
    ).toThrow(/--max-body-bytes must be an integer in \[20000000, /);
    expect(() => parseConfig(["--max-model-bytes", "10"], {})).toThrow(/--max-model-bytes/);
  });

  it("turns the gRPC fast path off with --no-fast-path", () => {
    expect(parseConfig(["--no-fast-path"], {}).fastPath).toBe(false);
  });

  it("takes --workers N, auto (one per core), or NETANOMALY_WORKERS", () => {
    expect(parseConfig(["--workers", "3"], {}).workers).toBe(3);
    expect(parseConfig([], { NETANOMALY_WORKERS: "2" }).workers).toBe(2);
    expect(parseConfig(["--workers", "1"], { NETANOMALY_WORKERS: "2" }).workers).toBe(1);
    expect(parseConfig(["--workers", "auto"], {}).workers).toBe(
      Math.min(availableCpus(), MAX_WORKERS),
    );
  });

  it("takes a threshold in (0, 1]", () => {
    expect(parseConfig(["--threshold", "0.7"], {}).threshold).toBe(0.7);
    expect(parseConfig(["--threshold", "1"], {}).threshold).toBe(1);
  });

  it.each([
    [["--port", "70000"], '--port must be an integer in [0, 65535], got "70000"'],
    [["--port=-1"], '--port must be an integer in [0, 65535], got "-1"'],
    [["--threshold", "0"], '--threshold must be in (0, 1], got "0"'],
    [["--threshold", "abc"], '--threshold must be in (0, 1], got "abc"'],
    [["--log-level", "loud"], "--log-level must be one of"],
    [["--workers", "0"], '--workers must be an integer in [1, 64] or auto, got "0"'],
    [["--workers", "65"], '--workers must be an integer in [1, 64] or auto, got "65"'],
    [["--workers", "2.5"], '--workers must be an integer in [1, 64] or auto, got "2.5"'],
    [["--nope"], "unknown flag --nope"],
    [["--port"], "--port needs a value"],
    [["--tls-cert", "c.pem"], "--tls-cert and --tls-key must be given together"],
    [["--client-ca", "ca.pem"], "--client-ca needs --tls-cert and --tls-key"],
    [
      ["--max-message-bytes", "10"],
      '--max-message-bytes must be an integer in [1024, 67108864], got "10"',
    ],
    [["--max-streams", "0"], '--max-streams must be an integer in [1, 10000], got "0"'],
    [
      ["--rate-limit-rps", "fast"],
      '--rate-limit-rps must be a number in [0, 1000000000], got "fast"',
    ],
    [["extra"], "extra"],
  ])("rejects %j with a usage error naming the flag", (args, message) => {
    expect(() => parseConfig(args, {})).toThrow(UsageError);
    expect(() => parseConfig(args, {})).toThrow(message);
  });
});
