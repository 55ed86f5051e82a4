/**
 * Shared fixtures for the client and deployment tests: a small real model
 * trained from data/telemetry.csv, an in-process server on a loopback port,
 * and a child-process runner.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import { pino } from "pino";
import { createDetector, serializeModel, trainModel } from "../detector/index.js";
import { createServer, type NetanomalyServer } from "../server/server.js";
import { eventFromRecord } from "../telemetry/index.js";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, "..");

/** Rows of data/telemetry.csv the test model is trained on. */
const TRAIN_ROWS = 3000;

/**
 * Trains a small model (50 trees, seed 7) on the first 3000 rows of
 * data/telemetry.csv and writes it to `<dir>/model.json`. Deterministic.
 *
 * @returns the model file's path.
 */
export function trainTestModel(dir: string): string {
  const rows = parse(readFileSync(join(ROOT, "data/telemetry.csv")), {
    columns: true,
    to: TRAIN_ROWS,
  }) as Record<string, string>[];
  const model = trainModel(rows.map(eventFromRecord), { nEstimators: 50, seed: 7 });
  const path = join(dir, "model.json");
  writeFileSync(path, serializeModel(model));
  return path;
}

/** A server running in this process on 127.0.0.1. */
export interface RunningServer {
  readonly port: number;
  readonly server: NetanomalyServer;
  close(): Promise<void>;
}

/** Starts the real server in-process on 127.0.0.1, port 0, scoring with the model file. */
export async function startServer(modelPath: string): Promise<RunningServer> {
  const model = JSON.parse(readFileSync(modelPath, "utf8"));
  const server = createServer({
    detector: createDetector(model),
    logger: pino({ level: "silent" }),
  });
  const address = await server.listen(0, "127.0.0.1");
  return {
    port: address.port,
    server,
    async close() {
      await server.shutdown(2_000);
    },
  };
}

/** What a finished child process left behind. */
export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link runProcess}. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) after this many ms; default 60 000. */
  timeoutMs?: number;
}

/** Runs a command to completion and collects its output; never rejects on a non-zero exit. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Kills a child process and waits until it is gone. */
export function killProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolvePromise) => {
    child.once("exit", () => resolvePromise());
    child.kill(signal);
  });
}

/** Parses output holding one JSON object per line. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Parses YAML (every document) with Debian's python3-yaml, which docker-compose depends on. */
export async function parseYaml(text: string): Promise<unknown[]> {
  const dir = mkdtempSync(join(tmpdir(), "netanomaly-yaml-"));
  try {
    const file = join(dir, "in.yaml");
    writeFileSync(file, text);
    const run = await runProcess("/usr/bin/python3", [
      "-c",
      "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
      file,
    ]);
    if (run.code !== 0) throw new Error(`yaml parse failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as unknown[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where scripts/install-tools.sh puts its Python tools (hadolint, kubernetes-validate). */
export const TOOLS_VENV =
  process.env.NETANOMALY_TOOLS_VENV ?? join(homedir(), ".cache/netanomaly/tools-venv");

/** `$(go env GOPATH)/bin/<name>`: where scripts/install-tools.sh installs the Go tools. */
export async function goTool(name: string): Promise<string> {
  const gopath = (await runProcess("go", ["env", "GOPATH"])).stdout.trim();
  return join(gopath, "bin", name);
}
