/**
 * What the container runs, without a container engine: the Dockerfile's
 * build commands compile to a dist/ directory, the server
 * (`node dist/server/main.js --host …`) serves the model NETANOMALY_MODEL
 * names, the image's CMD (`node dist/deploy/entrypoint.js`) gives it an API
 * key when the user gave none, and its HEALTHCHECK
 * (`node dist/deploy/healthcheck.js`) speaks grpc.health.v1 to it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { killProcess, ROOT, runProcess, trainTestModel } from "./deploy-harness.js";

let dist: string;
let modelDir: string;
let model: string;
let server: ChildProcess | undefined;
let port: number;

/** A server started through the image's CMD, on loopback. */
interface EntrypointRun {
  child: ChildProcess;
  port: number;
  /** The `listening` log line. */
  listening: Record<string, unknown>;
  stderr(): string;
}

/** Runs `node dist/deploy/entrypoint.js --host 127.0.0.1` with the image's environment plus `env`. */
async function startEntrypoint(env: NodeJS.ProcessEnv): Promise<EntrypointRun> {
  const base = { ...process.env };
  delete base.API_KEYS;
  delete base.API_KEYS_FILE;
  const child = spawn(
    process.execPath,
    [join(dist, "deploy/entrypoint.js"), "--host", "127.0.0.1"],
    {
      cwd: ROOT,
      env: {
        ...base,
        NETANOMALY_PORT: "0",
        NETANOMALY_MODEL: model,
        NODE_ENV: "production",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const log = JSON.parse(line) as Record<string, unknown>;
      if (log.msg === "listening") resolve(log);
    });
  });
  return { child, port: listening.port as number, listening, stderr: () => stderr };
}

/** Calls Score with `key` (or none); resolves with the Connect code, undefined on success. */
async function scoreWithKey(target: number, key: string | undefined): Promise<Code | undefined> {
  const transport = createGrpcTransport({
    baseUrl: `http://127.0.0.1:${target}`,
    interceptors:
      key === undefined
        ? []
        : [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${key}`);
              return next(req);
            },
          ],
  });
  try {
    await createClient(ScoringService, transport).score({
      event: { destIp: "203.0.113.9", destPort: 443, protocol: "TCP" },
    });
    return undefined;
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

/** Runs the compiled health probe; resolves with its exit code and stderr. */
function healthcheck(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return runProcess(process.execPath, [join(dist, "deploy/healthcheck.js"), ...args], { env });
}

beforeAll(async () => {
  // Inside the repository, so dist/ resolves node_modules and package.json's "type": "module".
  mkdirSync(join(ROOT, ".cache"), { recursive: true });
  dist = mkdtempSync(join(ROOT, ".cache/deploy-dist-"));
  modelDir = mkdtempSync(join(tmpdir(), "netanomaly-image-"));
  model = trainTestModel(modelDir);
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

describe("node dist/deploy/entrypoint.js (the image's CMD)", () => {
  it("makes a key when none is given, prints it once on stderr, and the server requires it", async () => {
    const run = await startEntrypoint({});
    try {
      const keys = [...run.stderr().matchAll(/^netanomaly: API key ([0-9a-f]{32})$/gm)];
      expect(keys).toHaveLength(1);
      const key = (keys[0] as RegExpMatchArray)[1] as string;
      expect(run.listening.auth).toBe("1 api keys");
      expect(await scoreWithKey(run.port, undefined)).toBe(Code.Unauthenticated);
      expect(await scoreWithKey(run.port, "not-the-key")).toBe(Code.Unauthenticated);
      expect(await scoreWithKey(run.port, key)).toBeUndefined();
      // The image's HEALTHCHECK needs no key.
      const health = await healthcheck([], { ...process.env, NETANOMALY_PORT: String(run.port) });
      expect(health.code).toBe(0);
    } finally {
      await killProcess(run.child, "SIGTERM");
    }
    expect(run.child.exitCode).toBe(0);
  });

  it("reads keys from API_KEYS_FILE and makes none", async () => {
    const file = join(modelDir, "api-keys");
    writeFileSync(file, "# mounted secret\nfile-key-1\n");
    const run = await startEntrypoint({ API_KEYS_FILE: file });
    try {
      expect(run.stderr()).not.toContain("API key");
      expect(run.listening.auth).toBe("1 api keys");
      expect(await scoreWithKey(run.port, "file-key-1")).toBeUndefined();
      expect(await scoreWithKey(run.port, undefined)).toBe(Code.Unauthenticated);
    } finally {
      await killProcess(run.child, "SIGTERM");
    }
  });

  it("uses API_KEYS as given and prints no key", async () => {
    const run = await startEntrypoint({ API_KEYS: "env-key-1,env-key-2" });
    try {
      expect(run.stderr()).toBe("");
      expect(run.listening.auth).toBe("2 api keys");
      expect(await scoreWithKey(run.port, "env-key-2")).toBeUndefined();
    } finally {
      await killProcess(run.child, "SIGTERM");
    }
  });
});
