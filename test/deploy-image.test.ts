/**
 * What the container runs, without a container engine: the Dockerfile's
 * build commands compile to a dist/ directory, the image's CMD
 * (`node dist/server/main.js --host …`) serves the model NETANOMALY_MODEL
 * names, and its HEALTHCHECK (`node dist/deploy/healthcheck.js`) speaks
 * grpc.health.v1 to it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killProcess, ROOT, runProcess, trainTestModel } from "./deploy-harness.js";

let dist: string;
let modelDir: string;
let server: ChildProcess | undefined;
let port: number;

/** Runs the compiled health probe; resolves with its exit code and stderr. */
function healthcheck(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return runProcess(process.execPath, [join(dist, "deploy/healthcheck.js"), ...args], { env });
}

beforeAll(async () => {
  // Inside the repository, so dist/ resolves node_modules and package.json's "type": "module".
  mkdirSync(join(ROOT, ".cache"), { recursive: true });
  dist = mkdtempSync(join(ROOT, ".cache/deploy-dist-"));
  modelDir = mkdtempSync(join(tmpdir(), "netanomaly-image-"));
  const model = trainTestModel(modelDir);
  const tsc = join(ROOT, "node_modules/.bin/tsc");
  for (const project of ["tsconfig.build.json", "deploy/tsconfig.json"]) {
    const build = await runProcess(tsc, ["-p", project, "--outDir", dist], { timeoutMs: 120_000 });
    expect(build.stdout, project).toBe("");
    expect(build.code, project).toBe(0);
  }
  // The image's CMD, with its environment, on loopback.
  server = spawn(process.execPath, [join(dist, "server/main.js"), "--host", "127.0.0.1"], {
    cwd: ROOT,
    env: { ...process.env, NETANOMALY_PORT: "0", NETANOMALY_MODEL: model, NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const child = server;
  port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const log = JSON.parse(line) as { msg: string; port: number };
      if (log.msg === "listening") resolve(log.port);
    });
  });
}, 180_000);

afterAll(async () => {
  if (server !== undefined) await killProcess(server, "SIGKILL");
  if (dist !== undefined) rmSync(dist, { recursive: true, force: true });
  if (modelDir !== undefined) rmSync(modelDir, { recursive: true, force: true });
});

describe("node dist/deploy/healthcheck.js", () => {
  it("exits 0 while the server is SERVING, finding it through NETANOMALY_PORT", async () => {
    const run = await healthcheck([], { ...process.env, NETANOMALY_PORT: String(port) });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("exits 0 for the readiness service netanomaly.v1.ScoringService", async () => {
    const run = await healthcheck([
      "--target",
      `http://127.0.0.1:${port}`,
      "--service",
      "netanomaly.v1.ScoringService",
    ]);
    expect(run.code).toBe(0);
  });

  it("exits 1 naming not_found for a service the server does not report on", async () => {
    const run = await healthcheck([
      "--target",
      `http://127.0.0.1:${port}`,
      "--service",
      "no.such.Service",
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/: not_found: /);
  });

  it("exits 1 naming unavailable when nothing listens", async () => {
    const run = await healthcheck(["--target", "http://127.0.0.1:1"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/: unavailable: /);
  });

  it("exits 2 on an unknown flag", async () => {
    const run = await healthcheck(["--bogus"]);
    expect(run.code).toBe(2);
  });
});

describe("node dist/server/main.js", () => {
  it("stops with exit code 0 on SIGTERM (the image's STOPSIGNAL)", async () => {
    const child = server as ChildProcess;
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    server = undefined;
  });
});
