import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./config.js";
import { createServer, type NetanomalyServer } from "./server.js";
import { testDetector } from "./testdata/detector.js";
import { captureLogs } from "./testdata/harness.js";

// Third-party clients against the real server: curl, grpcurl, grpc-health-probe, buf curl.

const run = promisify(execFile);

/** `$(go env GOPATH)/bin`, where CI installs grpcurl and grpc-health-probe. */
function goBin(): string {
  try {
    return join(execFileSync("go", ["env", "GOPATH"], { encoding: "utf8" }).trim(), "bin");
  } catch {
    return join(homedir(), "go", "bin");
  }
}

const inCI = process.env.CI === "true";
const grpcurl = join(goBin(), "grpcurl");
const healthProbe = join(goBin(), "grpc-health-probe");
// In CI the tools must be there; locally, skip (with the reason in the test name) if absent.
const hasGrpcurl = inCI || existsSync(grpcurl);
const hasHealthProbe = inCI || existsSync(healthProbe);
const buf = join(REPO_ROOT, "node_modules", ".bin", "buf");

const SCORE = "netanomaly.v1.ScoringService/Score";
const EVENT = { processPath: "chrome.exe", destIp: "203.0.113.9", destPort: 443, protocol: "TCP" };

let app: NetanomalyServer;
let target: string;

beforeAll(async () => {
  app = createServer({ detector: testDetector(), logger: captureLogs().logger });
  const address = await app.listen(0, "127.0.0.1");
  target = `127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await app.shutdown(5_000);
});

async function curl(...args: string[]): Promise<{ status: number; body: unknown }> {
  const { stdout } = await run("curl", [
    "-sS",
    "--max-time",
    "10",
    "-w",
    "\n%{http_code}",
    ...args,
  ]);
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)) };
}

describe("curl (Connect protocol, JSON)", () => {
  it.each([["--http1.1"], ["--http2-prior-knowledge"]])("scores an event with %s", async (flag) => {
    const { status, body } = await curl(
      flag,
      "-H",
      "Content-Type: application/json",
      "-d",
      JSON.stringify({ event: EVENT }),
      `http://${target}/${SCORE}`,
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({
      modelVersion: testDetector().info.version,
      verdict: expect.stringMatching(/^VERDICT_(NORMAL|ANOMALOUS)$/),
    });
  });

  it.each([
    [{ event: { ...EVENT, destPort: 70000 } }, "event.dest_port 70000 is out of range 0..65535"],
    [{ event: { ...EVENT, destPort: -1 } }, "dest_port"],
    [{ event: { ...EVENT, sourceIp: "300.1.1.1" } }, "source_ip"],
    [{}, "event is required"],
  ])("answers %j with 400 invalid_argument naming the field", async (req, message) => {
    const { status, body } = await curl(
      "--http1.1",
      "-H",
      "Content-Type: application/json",
      "-d",
      JSON.stringify(req),
      `http://${target}/${SCORE}`,
    );
    expect(status).toBe(400);
    expect(body).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining(message),
    });
  });
});

describe.skipIf(!hasGrpcurl)(
  `grpcurl (reflection, no proto files)${hasGrpcurl ? "" : ` — skipped: ${grpcurl} not found`}`,
  () => {
    it("lists the services", async () => {
      const { stdout } = await run(grpcurl, ["-plaintext", target, "list"]);
      expect(stdout.trim().split("\n").sort()).toEqual([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "netanomaly.v1.ScoringService",
      ]);
    });

    it("describes a message from an imported file", async () => {
      const { stdout } = await run(grpcurl, [
        "-plaintext",
        target,
        "describe",
        "netanomaly.v1.NetworkEvent",
      ]);
      expect(stdout).toContain(".google.protobuf.Timestamp timestamp = 1;");
      expect(stdout).toContain("uint32 dest_port = 7;");
    });

    it("calls Score", async () => {
      const { stdout } = await run(grpcurl, [
        "-plaintext",
        "-d",
        JSON.stringify({
          event: { dest_ip: "203.0.113.9", dest_port: 443, process_path: "chrome.exe" },
        }),
        target,
        SCORE,
      ]);
      expect(JSON.parse(stdout)).toMatchObject({ modelVersion: testDetector().info.version });
    });

    it("gets InvalidArgument for a bad event", async () => {
      const err = await run(grpcurl, [
        "-plaintext",
        "-d",
        '{"event":{"dest_port":70000}}',
        target,
        SCORE,
      ]).catch((e: { stderr: string }) => e);
      expect((err as { stderr: string }).stderr).toContain("Code: InvalidArgument");
    });
  },
);

describe("buf curl (gRPC, reflection)", () => {
  it("calls Score without a schema", async () => {
    const { stdout } = await run(buf, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-d",
      JSON.stringify({ event: EVENT }),
      `http://${target}/${SCORE}`,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ modelVersion: testDetector().info.version });
  });

  it("lists the services", async () => {
    const { stdout } = await run(buf, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-services",
      `http://${target}`,
    ]);
    expect(stdout).toContain("netanomaly.v1.ScoringService");
  });
});

describe.skipIf(!hasHealthProbe)(
  `grpc-health-probe${hasHealthProbe ? "" : ` — skipped: ${healthProbe} not found`}`,
  () => {
    it("reports SERVING for the server and for netanomaly.v1.ScoringService", async () => {
      const whole = await run(healthProbe, ["-addr", target]);
      // grpc-health-probe prints its verdict on stderr and exits 0 only when SERVING.
      expect(whole.stdout + whole.stderr).toContain("status: SERVING");
      const scoring = await run(healthProbe, [
        "-addr",
        target,
        "-service",
        "netanomaly.v1.ScoringService",
      ]);
      expect(scoring.stdout + scoring.stderr).toContain("status: SERVING");
    });

    it("fails for an unknown service", async () => {
      const err = await run(healthProbe, ["-addr", target, "-service", "nope"]).catch(
        (e: { code: number }) => e,
      );
      expect((err as { code: number }).code).not.toBe(0);
    });
  },
);
