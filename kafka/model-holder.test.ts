import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { serializeModel, trainModel } from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { sourceNamed } from "../sources/index.js";
import { createModelHolder } from "./model-holder.js";

const DEFAULT_MODEL = join(import.meta.dirname, "../models/default.model.json");

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-kafka-model-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A small model of its own, so its version differs from the default's. */
async function writeOtherModel(path: string): Promise<void> {
  const events: NetworkEvent[] = [];
  const ctl = new AbortController();
  const sim = sourceNamed("sim");
  for await (const { event } of sim?.open(
    { seed: 9 },
    { signal: ctl.signal, onSkip: () => {}, onNotice: () => {} },
  ) ?? []) {
    events.push(event);
    if (events.length === 500) break;
  }
  ctl.abort();
  writeFileSync(path, serializeModel(trainModel(events, { nEstimators: 10, seed: 3 })));
}

describe("createModelHolder()", () => {
  it("swaps in the rewritten file on reload and reports the new version", async () => {
    const path = join(dir, "model.json");
    copyFileSync(DEFAULT_MODEL, path);
    const lines: string[] = [];
    const holder = await createModelHolder({ path, onLog: (_l, m) => lines.push(m) });
    const before = holder.current().info.version;
    await writeOtherModel(join(dir, "next.json"));
    renameSync(join(dir, "next.json"), path);
    const after = await holder.reload("SIGHUP");
    expect(after).not.toBe(before);
    expect(holder.current().info.version).toBe(after);
    expect(lines.join("\n")).toContain(`model reloaded (SIGHUP): ${before} -> ${after}`);
  });

  it("keeps the current model when the new file is bad, and says why", async () => {
    const path = join(dir, "model.json");
    copyFileSync(DEFAULT_MODEL, path);
    const lines: string[] = [];
    const holder = await createModelHolder({ path, onLog: (l, m) => lines.push(`${l} ${m}`) });
    const before = holder.current().info.version;
    writeFileSync(path, "{ not a model");
    expect(await holder.reload("SIGHUP")).toBe(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warn model reload rejected \(SIGHUP\): .+; keeping /);
  });

  it("reloads by itself when the file is replaced in its directory", async () => {
    const path = join(dir, "model.json");
    copyFileSync(DEFAULT_MODEL, path);
    const holder = await createModelHolder({ path, debounceMs: 20 });
    const before = holder.current().info.version;
    holder.watch();
    try {
      await writeOtherModel(join(dir, "next.json"));
      renameSync(join(dir, "next.json"), path);
      const deadline = Date.now() + 10_000;
      while (holder.current().info.version === before && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(holder.current().info.version).not.toBe(before);
    } finally {
      holder.close();
    }
  });

  it("applies a threshold override to every model it loads", async () => {
    const path = join(dir, "model.json");
    copyFileSync(DEFAULT_MODEL, path);
    const holder = await createModelHolder({ path, threshold: 0.9 });
    expect(holder.current().threshold).toBe(0.9);
  });

  it("fails to start without a readable model", async () => {
    await expect(createModelHolder({ path: join(dir, "missing.json") })).rejects.toThrow();
  });
});
