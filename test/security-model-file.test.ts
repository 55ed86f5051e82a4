/**
 * Hostile model files on the real server, issue 23 items 3 and 6: a FIFO at
 * the model path no longer stalls reload and shutdown, and a large model is
 * read, parsed and validated off the event loop.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort, killServer, type ServerChild, spawnServer } from "../bench/soak/server-child.js";
import {
  type ModelFile,
  parseModel,
  sealModel,
  serializeModel,
  trainModel,
} from "../detector/index.js";
import { createModelHolder } from "../server/model-holder.js";
import { createModelReloader } from "../server/model-reload.js";
import { routineEvents } from "../server/testdata/detector.js";
import { captureLogs } from "../server/testdata/harness.js";

let dir: string;
let path: string;
const children: ServerChild[] = [];

const trained = trainModel(routineEvents(300), { nEstimators: 20, maxSamples: 64, seed: 1 });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-hostile-model-"));
  path = join(dir, "model.json");
  writeFileSync(path, serializeModel(trained));
});

afterEach(async () => {
  await Promise.all(children.splice(0).map(killServer));
  rmSync(dir, { recursive: true, force: true });
});

/** Rejects naming `what` after `ms`: on 20efb59 these never came. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

describe("a FIFO at the model path (issue 23, item 3)", () => {
  it("is refused on SIGHUP; a good model renamed in afterwards loads; SIGTERM exits", async () => {
    const port = await freePort();
    const proc = spawnServer({ port, model: path });
    children.push(proc);
    const first = (await proc.listening).modelVersion;
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    renameSync(fifo, path);
    proc.child.kill("SIGHUP");
    const rejected = await within(
      proc.waitForLine((l) => l.msg === "model reload rejected"),
      15_000,
      "'model reload rejected'",
    );
    expect(String(rejected.reason)).toContain("is a FIFO, not a regular file: refused");
    const next = serializeModel(
      trainModel(routineEvents(300), { nEstimators: 20, maxSamples: 64, seed: 2 }),
    );
    writeFileSync(join(dir, ".tmp"), next);
    renameSync(join(dir, ".tmp"), path);
    proc.child.kill("SIGHUP");
    const reloaded = await within(
      proc.waitForLine((l) => l.msg === "model reloaded"),
      15_000,
      "'model reloaded'",
    );
    expect(reloaded.from).toBe(first);
    // A FIFO again, a reload on it, and SIGTERM at once: shutdown does not wait for it.
    execFileSync("mkfifo", [fifo]);
    renameSync(fifo, path);
    proc.child.kill("SIGHUP");
    proc.child.kill("SIGTERM");
    const exit = await within(proc.exited, 15_000, "exit after SIGTERM");
    expect(exit.code).toBe(0);
  }, 60_000);
});

describe("reloading a large model (issue 23, item 6)", () => {
  it("keeps the event loop turning while the file is read, parsed and validated", async () => {
    // 3 count tables of 50,000 keys of ~120 characters: a model of about 20 MB.
    const copy = JSON.parse(JSON.stringify(trained)) as ModelFile;
    if (copy.featureSpec.kind !== "telemetry") throw new Error("telemetry model expected");
    copy.featureSpec.rows = 1_000_000;
    for (const t of ["process", "process_path", "dest"] as const) {
      copy.featureSpec.tables[t] = Array.from({ length: 50_000 }, (_, i) => [
        `c:\\program files\\vendor ${String(i).padStart(6, "0")}\\${"x".repeat(80)}.exe`,
        1 + (i % 100),
      ]);
    }
    const { checksum: _c, formatVersion: _f, ...rest } = copy;
    const text = serializeModel(sealModel(rest));
    // What the old server did on its event loop, measured here once.
    const t0 = performance.now();
    parseModel(text);
    const syncMs = performance.now() - t0;
    writeFileSync(path, text);

    const { logger, lines } = captureLogs();
    const models = createModelHolder();
    const reloader = createModelReloader({ path, models, logger });
    let maxLagMs = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxLagMs = Math.max(maxLagMs, now - last);
      last = now;
    }, 2);
    const outcome = await reloader.reload("manual");
    clearInterval(ticker);
    reloader.close();
    expect(outcome.status, JSON.stringify(lines)).toBe("swapped");
    console.log(
      `reload of a ${(text.length / 2 ** 20).toFixed(1)} MiB model: event loop stalled at most ${maxLagMs.toFixed(0)} ms; parsing and validating it on the loop takes ${syncMs.toFixed(0)} ms`,
    );
    expect(maxLagMs).toBeLessThan(syncMs);
  }, 60_000);
});
