import { execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./config.js";
import { useServerProcesses } from "./testdata/processes.js";

// main.ts as users run it: a child process, never imported.

const tsx = join(REPO_ROOT, "node_modules", ".bin", "tsx");
const main = join(REPO_ROOT, "server", "main.ts");
const processes = useServerProcesses("netanomaly-main-");

function start(args: string[]) {
  const child = spawn(tsx, [main, ...args], {
    cwd: tmpdir(),
    env: { ...process.env, NETANOMALY_PORT: "", NETANOMALY_MODEL: "", NETANOMALY_HOST: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  processes.track(child);
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const obj = JSON.parse(line) as Record<string, unknown>;
      lines.push(obj);
      if (obj.msg === "listening") {
        resolve(obj);
      }
    });
    child.on("exit", () => reject(new Error(`exited before listening: ${stderr}`)));
  });
  listening.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, lines, listening, exited, stderr: () => stderr };
}

describe("npm run server (server/main.ts)", () => {
  it("listens, serves Score, and exits 0 on SIGTERM after logging stopped", async () => {
    const proc = start(["--port", "0", "--model", processes.model(), "--threshold", "0.9"]);
    const listening = await proc.listening;
    expect(listening).toMatchObject({ address: "127.0.0.1", threshold: 0.9 });
    const res = await fetch(`${listening.url}/netanomaly.v1.ScoringService/Score`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event: { destIp: "203.0.113.9", destPort: 443 } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ threshold: 0.9, verdict: "VERDICT_NORMAL" });
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(proc.lines.at(-1)).toMatchObject({ msg: "stopped", outcome: "graceful" });
  });

  it("prints every flag for --help and exits 0", async () => {
    const { stdout } = await promisify(execFile)(tsx, [main, "--help"], { cwd: tmpdir() });
    for (const flag of [
      "--host",
      "--model",
      "--api-keys-file",
      "--tls-cert",
      "--rate-limit-eps",
      "SIGHUP",
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  it("exits 2 with one stderr line for a bad flag", async () => {
    const proc = start(["--port", "99999"]);
    expect(await proc.exited).toBe(2);
    expect(proc.stderr().trim().split("\n")).toEqual([
      expect.stringContaining('--port must be an integer in [0, 65535], got "99999"'),
    ]);
  });

  it("exits 1 with one stderr line naming a missing model file", async () => {
    const proc = start(["--port", "0", "--model", join(processes.dir(), "missing.json")]);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr().trim().split("\n")).toEqual([
      expect.stringMatching(/^netanomaly server: model file .*missing\.json does not exist$/),
    ]);
  });

  it("exits 1 with one stderr line for a truncated model file", async () => {
    const truncated = join(processes.dir(), "truncated.json");
    writeFileSync(truncated, '{"formatVersion":1,"checksum":"');
    const proc = start(["--port", "0", "--model", truncated]);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr().trim().split("\n")).toEqual([
      expect.stringContaining("truncated or corrupt"),
    ]);
  });
});
