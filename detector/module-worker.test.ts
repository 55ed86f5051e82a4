import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { startModuleWorker } from "./module-worker.js";

describe("startModuleWorker", () => {
  it("runs a self-contained module bundled, and answers like the module", async () => {
    const worker = startModuleWorker(import.meta.url, "fit-worker", { selfContained: true });
    try {
      // "grow" before "begin": the worker's own error, so its code ran.
      worker.postMessage({ kind: "grow", start: 0, seeds: [1] });
      const [reply] = await once(worker, "message");
      expect(reply).toEqual({ start: -1, error: "grow before begin" });
    } finally {
      await worker.terminate();
    }
  });

  it("refuses to bundle a module that reads import.meta, naming the file and line", () => {
    expect(() =>
      startModuleWorker(new URL("./testdata/x.ts", import.meta.url).href, "meta-worker", {
        selfContained: true,
      }),
    ).toThrow(/cannot bundle .*meta-worker\.ts for a worker: .*import\.meta.*meta-worker\.ts:5/);
  });
});
