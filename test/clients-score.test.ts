import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  jsonLines,
  ROOT,
  type RunningServer,
  runProcess,
  startServer,
  trainTestModel,
} from "./deploy-harness.js";

/** Debian's interpreter: it has python3-grpcio, a venv's python3 may not. */
const PYTHON = "/usr/bin/python3";

let dir: string;
let server: RunningServer;
let goBinary: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-clients-"));
  server = await startServer(trainTestModel(dir));
  goBinary = join(dir, "score");
  // GOPROXY=off: the build uses go.sum and the module cache only, no network.
  const build = await runProcess("go", ["build", "-o", goBinary, "./cmd/score"], {
    cwd: join(ROOT, "clients/go"),
    env: { ...process.env, GOPROXY: "off", GOFLAGS: "-mod=readonly -buildvcs=false" },
    timeoutMs: 180_000,
  });
  expect(build.stderr).toBe("");
  expect(build.code).toBe(0);
}, 240_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Each client's command line, given extra flags. */
const clients: Record<string, (flags: string[]) => [string, string[]]> = {
  "python (clients/python/score.py)": (flags) => [
    PYTHON,
    [join(ROOT, "clients/python/score.py"), ...flags.map((f) => f.replace(/^-([a-z])/, "--$1"))],
  ],
  "go (clients/go/cmd/score)": (flags) => [goBinary, flags],
};

for (const [name, command] of Object.entries(clients)) {
  describe(`${name} against the real server`, () => {
    it("prints the Score result and every StreamScore result", async () => {
      const [cmd, args] = command([
        "-target",
        `127.0.0.1:${server.port}`,
        "-json",
        "-api-key",
        "test-key",
      ]);
      const run = await runProcess(cmd, args);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const [score, ...stream] = jsonLines(run.stdout);
      expect(score).toMatchObject({ rpc: "Score", verdict: "normal" });
      expect(score?.score).toBeGreaterThan(0);
      expect(score?.score).toBeLessThanOrEqual(1);
      expect(score?.score).toBeLessThan(score?.threshold as number);
      expect(score?.modelVersion).toMatch(/\S/);
      expect(stream.map((r) => [r.requestId, r.index])).toEqual([
        ["batch-1", 0],
        ["batch-1", 1],
        ["batch-2", 0],
      ]);
      // The same event scores the same on both RPCs.
      expect(stream[0]).toMatchObject({ score: score?.score, verdict: "normal" });
      expect(stream[1]?.error).toMatchObject({ code: "invalid_argument", field: "dest_port" });
      expect(stream[2]).toMatchObject({ verdict: "anomalous" });
    });

    it("prints text lines without -json", async () => {
      const [cmd, args] = command(["-target", `127.0.0.1:${server.port}`]);
      const run = await runProcess(cmd, args);
      expect(run.code).toBe(0);
      const lines = run.stdout.trim().split("\n");
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatch(
        /^Score: score=0\.\d{4} verdict=normal threshold=0\.\d{4} model=\S+$/,
      );
      expect(lines[2]).toMatch(/^StreamScore batch-1\[1\]: error invalid_argument \(dest_port\): /);
      expect(lines[3]).toMatch(/^StreamScore batch-2\[0\]: score=0\.\d{4} verdict=anomalous$/);
    });

    it("exits 1 naming unavailable when nothing listens", async () => {
      // Port 1 (tcpmux) on loopback: refused at once on any test machine.
      const [cmd, args] = command(["-target", "127.0.0.1:1"]);
      const run = await runProcess(cmd, args);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^score: rpc failed: unavailable: /);
      expect(run.stdout).toBe("");
    });
  });
}

describe("python (clients/python/score.py) without grpcio", () => {
  it("says in one line which module is missing and how to get it, exit 1", async () => {
    // -S: no site directories, so Debian's python3-grpcio is out of reach.
    const run = await runProcess(PYTHON, ["-S", join(ROOT, "clients/python/score.py")]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `score.py: ${PYTHON} has no grpc module: run it with /usr/bin/python3 after 'apt-get install python3-grpcio', or in a venv after 'pip install -r clients/python/requirements.txt'\n`,
    );
  });
});
