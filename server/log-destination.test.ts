import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./config.js";

const run = promisify(execFile);
const tsx = join(REPO_ROOT, "node_modules", ".bin", "tsx");
const burst = join(REPO_ROOT, "server", "testdata", "log-burst.ts");
const stall = join(REPO_ROOT, "server", "testdata", "log-stall.ts");
const kill = join(REPO_ROOT, "server", "testdata", "log-kill.ts");

/** The `seq` of each line per writer, failing on any line that is not whole JSON. */
function sequences(stdout: string): Map<string, number[]> {
  const byName = new Map<string, number[]>();
  for (const line of stdout.split("\n").filter((l) => l !== "")) {
    const { name, seq } = JSON.parse(line) as { name: string; seq: number };
    byName.set(name, [...(byName.get(name) ?? []), seq]);
  }
  return byName;
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("serverLogDestination()", () => {
  it("writes every line of a burst, in order, before process.exit returns", async () => {
    const { stdout } = await run(tsx, [burst, "a", "5000"], { maxBuffer: 1 << 26 });
    expect(sequences(stdout).get("a")).toEqual(upTo(5000));
  }, 60_000);

  it("keeps the order of lines logged over many turns when it exits right after the last", async () => {
    // A write still in flight at exit is a race; four runs give it four chances.
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() => run(tsx, [burst, "a", "3000", "300"], { maxBuffer: 1 << 26 })),
    );
    for (const { stdout } of runs) {
      expect(sequences(stdout).get("a")).toEqual(upTo(3000));
    }
  }, 60_000);

  it("never splits lines when two processes share one stdout pipe", async () => {
    // As workers do under --workers N: both write to one pipe. Its reader
    // starts late and reads slowly, so the pipe fills and writes must wait for
    // room: a write of more than PIPE_BUF bytes could then go in pieces.
    const writers = `"${tsx}" "${burst}" a 20000 & "${tsx}" "${burst}" b 20000 & wait`;
    const { stdout } = await run("sh", ["-c", `(${writers}) | (sleep 1; dd bs=512 2>/dev/null)`], {
      maxBuffer: 1 << 26,
    });
    const byName = sequences(stdout);
    expect(byName.get("a")).toEqual(upTo(20000));
    expect(byName.get("b")).toEqual(upTo(20000));
  }, 60_000);

  it("keeps the event loop turning while stdout's reader stalls, drops what does not fit and says so", async () => {
    // Issue 23, item 2: the old destination blocked in write() once the
    // 64 KiB pipe was full, so `done` never came while nobody read stdout.
    const child = spawn(tsx, [stall, "2000"], { stdio: ["pipe", "pipe", "pipe"] });
    try {
      child.stdout.pause();
      let err = "";
      const done = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no 'done' in 20 s: ${err}`)), 20_000);
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
          const m = /done .*\n/.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(m[0]);
          }
        });
      });
      const [, dropped, lagMs] = done.trim().split(" ").map(Number) as [number, number, number];
      console.log(
        `stalled reader: 2000 lines of 1 KiB, ${dropped} dropped, max timer lag ${lagMs} ms`,
      );
      expect(dropped).toBeGreaterThan(0);
      // The reader comes back: everything held arrives, then the report.
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stdout.resume();
      child.stdin.write("exit\n");
      await new Promise((resolve) => child.once("exit", resolve));
      const lines = out
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as { seq?: number; droppedLines?: number });
      const seqs = lines.filter((l) => l.seq !== undefined).map((l) => l.seq as number);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(lines.find((l) => l.droppedLines !== undefined)?.droppedLines).toBe(dropped);
      expect(seqs.length + dropped).toBe(2000);
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  it("writes a warning (an alert) at once, with what was held before it: a SIGKILL right after loses neither", async () => {
    // Issue 23, item 8: on 20efb59 both lines were still held when the process died.
    const out = await new Promise<string>((resolve) => {
      const child = spawn(tsx, [kill], { stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      child.stdout.on("data", (d: Buffer) => {
        text += d.toString();
      });
      child.once("close", () => resolve(text));
    });
    const lines = out
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { seq: number; msg: string });
    expect(lines.map((l) => [l.seq, l.msg])).toEqual([
      [0, "before the alert"],
      [1, "anomalous event"],
    ]);
  }, 30_000);
});
