import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./config.js";
import { HEAP_GROWING_PERCENT, tuneHeap } from "./heap-tuning.js";

const run = promisify(execFile);

describe("tuneHeap()", () => {
  it("leaves a --heap-growing-percent given on the command line alone", () => {
    expect(tuneHeap(["--heap-growing-percent=80"])).toBeUndefined();
    expect(tuneHeap(["--heap_growing_percent", "80"])).toBeUndefined();
  });

  it("is a flag this Node's V8 knows: no warning, the process runs on", async () => {
    // In a child process, so the flag is set there and V8's complaint, if any, lands on its stderr.
    const script = `import { tuneHeap } from ${JSON.stringify(join(REPO_ROOT, "server", "heap-tuning.ts"))};
      const percent = tuneHeap([]);
      const garbage = [];
      for (let i = 0; i < 200_000; i++) garbage.push({ i });
      process.stdout.write(String(percent));`;
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { cwd: REPO_ROOT },
    );
    expect(stderr).toBe("");
    expect(Number(stdout)).toBe(HEAP_GROWING_PERCENT);
  });
});
