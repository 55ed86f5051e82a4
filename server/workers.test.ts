import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  ScoreRequestSchema,
  ScoreResponseSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { REPO_ROOT } from "./config.js";
import { routineEvents } from "./testdata/detector.js";
import { useServerProcesses } from "./testdata/processes.js";

// `--workers N` as users run it: the supervisor and its workers are real processes.

const main = join(REPO_ROOT, "server", "main.ts");
const processes = useServerProcesses("netanomaly-workers-");

type Line = Record<string, unknown>;

function start(args: string[]) {
  // node itself (not the tsx CLI, a process in between): signals reach the supervisor.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", main, "--port", "0", "--model", processes.model(), ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, NETANOMALY_PORT: "", NETANOMALY_MODEL: "", NETANOMALY_WORKERS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  processes.track(child);
  const lines: Line[] = [];
  const waiters: { test: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
    const line = JSON.parse(text) as Line;
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  /** The first line (already logged or still to come) that passes `test`. */
  const waitFor = (test: (l: Line) => boolean, after = 0): Promise<Line> => {
    const seen = lines.slice(after).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      waiters.push({ test, resolve });
      void exited.then(() => reject(new Error(`exited; stderr: ${stderr}`)));
    });
  };
  return { child, lines, exited, waitFor, stderr: () => stderr };
}

/** One unary gRPC Score call on a connection of its own. */
async function scoreOnNewConnection(port: number): Promise<number> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const event = routineEvents(1)[0];
    const body = toBinary(ScoreRequestSchema, create(ScoreRequestSchema, { event }));
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    const req = session.request({
      ":method": "POST",
      ":path": "/netanomaly.v1.ScoringService/Score",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    const status = await new Promise<string>((resolve, reject) => {
      req.on("trailers", (t) => resolve(String(t["grpc-status"])));
      req.on("error", reject);
      req.end(frame);
    });
    expect(status).toBe("0");
    return fromBinary(ScoreResponseSchema, Buffer.concat(chunks).subarray(5)).score;
  } finally {
    session.close();
  }
}

const isListening = (l: Line) => l.msg === "listening";
const allListening = (l: Line) => l.msg === "workers listening";

describe("npm run server -- --workers N", () => {
  it("serves from every worker on one port and stops them all on SIGTERM", async () => {
    const proc = start(["--workers", "2"]);
    const ready = await proc.waitFor(allListening);
    const workers = ready.workers as number[];
    expect(workers).toHaveLength(2);
    expect(workers).not.toContain(proc.child.pid);
    const port = ready.port as number;

    // Connections go round-robin to the workers, and each logs its own calls.
    const scores = [];
    for (let i = 0; i < 6; i++) scores.push(await scoreOnNewConnection(port));
    expect(new Set(scores).size).toBe(1);
    await proc.waitFor(
      () =>
        new Set(proc.lines.filter((l) => l.msg === "rpc finished").map((l) => l.pid)).size === 2,
    );
    const servedBy = new Set(
      proc.lines.filter((l) => l.msg === "rpc finished").map((l) => l.pid as number),
    );
    expect([...servedBy].sort()).toEqual([...workers].sort());

    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    for (const pid of workers) {
      expect(proc.lines).toContainEqual(
        expect.objectContaining({ pid, msg: "stopped", outcome: "graceful" }),
      );
    }
    expect(proc.lines.at(-1)).toMatchObject({
      pid: proc.child.pid,
      msg: "stopped",
      outcome: "graceful",
    });
  });

  it("relays SIGHUP: every worker rereads the model", async () => {
    const proc = start(["--workers", "2"]);
    const ready = await proc.waitFor(allListening);
    await Promise.all(
      (ready.workers as number[]).map((pid) =>
        proc.waitFor((l) => l.pid === pid && isListening(l)),
      ),
    );
    proc.child.kill("SIGHUP");
    const reloaded = (pid: number) => (l: Line) =>
      l.pid === pid && l.trigger === "SIGHUP" && l.msg === "model unchanged";
    await Promise.all((ready.workers as number[]).map((pid) => proc.waitFor(reloaded(pid))));
  });

  it("starts a new worker when one dies, and goes on serving", async () => {
    const proc = start(["--workers", "2"]);
    const ready = await proc.waitFor(allListening);
    const [victim] = ready.workers as number[];
    await proc.waitFor((l) => l.pid === victim && isListening(l));
    const mark = proc.lines.length;
    process.kill(victim as number, "SIGKILL");
    const exited = await proc.waitFor((l) => l.msg === "worker exited; starting another", mark);
    expect(exited).toMatchObject({ worker: victim, signal: "SIGKILL", level: 50 });
    const replacement = await proc.waitFor(
      (l) => isListening(l) && !(ready.workers as number[]).includes(l.pid as number),
      mark,
    );
    expect(replacement.port).toBe(ready.port);
    for (let i = 0; i < 3; i++) await scoreOnNewConnection(ready.port as number);
  });

  it("keeps serving while a replacement cannot load the model, and replaces it once the file is good", async () => {
    const path = join(processes.dir(), "swapped.model.json");
    const good = readFileSync(processes.model());
    writeFileSync(path, good);
    const proc = start(["--workers", "2", "--model", path]);
    const ready = await proc.waitFor(allListening);
    const [victim, survivor] = ready.workers as number[];
    for (const pid of [victim, survivor]) {
      await proc.waitFor((l) => l.pid === pid && isListening(l));
    }
    writeFileSync(path, "{}"); // the running workers reject it and keep their model
    const mark = proc.lines.length;
    process.kill(victim as number, "SIGKILL");
    const failed = await proc.waitFor(
      (l) => l.msg === "worker exited; starting another" && l.reason !== undefined,
      mark,
    );
    expect(failed.level).toBe(50);
    expect(failed.reason).toBe(`model file ${path}: not a netanomaly model: no formatVersion`);
    expect(failed.restartInMs).toBeGreaterThan(250);
    expect(proc.child.exitCode).toBeNull();
    for (let i = 0; i < 3; i++) await scoreOnNewConnection(ready.port as number);
    writeFileSync(path, good);
    const replacement = await proc.waitFor(
      (l) => isListening(l) && !(ready.workers as number[]).includes(l.pid as number),
      mark,
    );
    expect(replacement.port).toBe(ready.port);
  });

  it("gives up, exit 1, when workers keep dying (a sixth death within a minute)", async () => {
    const proc = start(["--workers", "2"]);
    const ready = await proc.waitFor(allListening);
    let pid = (ready.workers as number[])[0] as number;
    await proc.waitFor((l) => l.pid === pid && isListening(l));
    for (let death = 1; death <= 6; death++) {
      const mark = proc.lines.length;
      process.kill(pid, "SIGKILL");
      if (death === 6) break;
      const next = await proc.waitFor(
        (l) =>
          isListening(l) && l.pid !== pid && !(ready.workers as number[]).includes(l.pid as number),
        mark,
      );
      pid = next.pid as number;
    }
    expect(await proc.exited).toBe(1);
    expect(proc.lines).toContainEqual(expect.objectContaining({ msg: "worker exited", level: 60 }));
    expect(proc.stderr()).toBe(
      "netanomaly server: workers exited 6 times within 60 s; giving up\n",
    );
    // Six worker starts under tsx: 19 s at load 6 here, over 30 s at load 11.
  }, 90_000);

  it("exits 1 with the model's problem, printed once, when the workers cannot load it", async () => {
    const bad = join(processes.dir(), "bad.model.json");
    writeFileSync(bad, "{}");
    const proc = start(["--workers", "3", "--model", bad]);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toBe(
      `netanomaly server: model file ${bad}: not a netanomaly model: no formatVersion\n`,
    );
  });

  it("exits 2 on a bad --workers before forking anything", async () => {
    const proc = start(["--workers", "many"]);
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toMatch(
      /^netanomaly server: --workers must be an integer in \[1, 64\] or auto, got "many" \(--help lists every flag\)\n$/,
    );
    expect(proc.lines).toEqual([]);
  });
});
