import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type NetanomalyServer } from "../server/server.js";
import { testDetector } from "../server/testdata/detector.js";
import { captureLogs } from "../server/testdata/harness.js";
import { checkGrpcScore, runH2load } from "./h2load-bench.js";
import { runGhz } from "./unary-bench.js";

// The bench's unary load tools against a real server, briefly: each run must
// be answered, parsed and measured, or `npm run bench` would print nonsense.

/** `$(go env GOPATH)/bin`, where `scripts/install-tools.sh` puts ghz. */
function goBin(): string {
  try {
    return join(execFileSync("go", ["env", "GOPATH"], { encoding: "utf8" }).trim(), "bin");
  } catch {
    return join(homedir(), "go", "bin");
  }
}

function onPath(tool: string): string | undefined {
  try {
    return (
      execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

const inCI = process.env.CI === "true";
const ghz = join(goBin(), "ghz");
const h2load = onPath("h2load") ?? "h2load";
// In CI the tools must be there; locally, skip (with the reason in the test name) if absent.
const hasGhz = inCI || existsSync(ghz);
const hasH2load = inCI || onPath("h2load") !== undefined;

let app: NetanomalyServer;
let port: number;

beforeAll(async () => {
  app = createServer({ detector: testDetector(), logger: captureLogs().logger });
  port = (await app.listen(0, "127.0.0.1")).port;
});

afterAll(async () => {
  await app.shutdown(5_000);
});

describe.skipIf(!hasGhz)(
  `runGhz${hasGhz ? "" : " (skipped: no ghz; bash scripts/install-tools.sh)"}`,
  () => {
    it("drives Score on one core and reports rate, percentiles, codes and ghz's CPU", async () => {
      const r = await runGhz({ ghz, port, concurrency: 4, connections: 2, cpus: 1, seconds: 1 });
      expect(r.command).toContain("--cpus 1");
      expect(r.cpus).toBe(1);
      expect(r.ok).toBeGreaterThan(50);
      // Only the calls in flight when the duration ends may fail: ghz closes its
      // own connections under them ("transport is closing"). Any other message
      // would be the server's.
      for (const [message, n] of Object.entries(r.errorMessages)) {
        expect(message, `${n} calls`).toMatch(/code = Unavailable desc = transport is closing$/);
      }
      expect(r.errors).toBe(Object.values(r.errorMessages).reduce((a, b) => a + b, 0));
      expect(r.errors).toBeLessThan(r.ok / 10);
      expect(r.requestsPerSecond).toBeGreaterThan(50);
      expect(r.latencyMs.p50).toBeGreaterThan(0);
      expect(r.latencyMs.p99).toBeGreaterThanOrEqual(r.latencyMs.p50);
      expect(r.loadCpuSeconds).toBeGreaterThan(0);
    }, 60_000);

    it("leaves --cpus out when not given", async () => {
      const r = await runGhz({ ghz, port, concurrency: 2, connections: 1, seconds: 1 });
      expect(r.command).not.toContain("--cpus");
      expect(r.cpus).toBeUndefined();
      expect(r.ok).toBeGreaterThan(50);
    }, 60_000);
  },
);

describe.skipIf(!hasH2load)(
  `runH2load${hasH2load ? "" : " (skipped: no h2load; apt-get install nghttp2-client)"}`,
  () => {
    it("sends a Score request the server answers with grpc-status 0, and counts the calls", async () => {
      expect(await checkGrpcScore(port)).toBe("0");
      const r = await runH2load({ h2load, port, connections: 2, streams: 2, seconds: 1 });
      expect(r.failed).toBe(0);
      expect(r.succeeded).toBeGreaterThan(50);
      expect(r.meanMs).toBeGreaterThan(0);
      expect(r.loadCpuSeconds).toBeGreaterThan(0);
    }, 60_000);
  },
);
