import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { serializeModel, trainModel } from "../../detector/index.js";
import { routineEvents } from "./detector.js";

/**
 * For tests that run the server as real processes: a temporary folder
 * holding a small model (20 trees, ψ 64), and `track`, which registers a
 * child to be SIGKILLed after each test if it is still running. Registers
 * vitest hooks, so call it at the top of a test file.
 */
export function useServerProcesses(prefix: string) {
  const state = { dir: "", model: "" };
  const children: ChildProcess[] = [];
  beforeAll(() => {
    state.dir = mkdtempSync(join(tmpdir(), prefix));
    state.model = join(state.dir, "small.model.json");
    writeFileSync(
      state.model,
      serializeModel(trainModel(routineEvents(300), { nEstimators: 20, maxSamples: 64, seed: 3 })),
    );
  });
  afterEach(() => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
      }
    }
  });
  afterAll(() => rmSync(state.dir, { recursive: true, force: true }));
  return {
    /** The temporary folder (set once `beforeAll` has run). */
    dir: () => state.dir,
    /** Path of the small model file in it. */
    model: () => state.model,
    track(child: ChildProcess): void {
      children.push(child);
    },
  };
}
