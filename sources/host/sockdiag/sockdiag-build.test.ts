import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildSockdiagIn } from "./sockdiag-build.js";

const hasCc = spawnSync("sh", ["-c", "command -v cc"]).status === 0;
const inCI = process.env.CI === "true";
const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "sockdiag-build-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== "linux")("buildSockdiagIn()", () => {
  it("says there is no compiler when CC is not one", async () => {
    const built = await buildSockdiagIn({ CC: "/nonexistent/cc", NETANOMALY_CACHE: scratch() });
    expect(built).toEqual({ ok: false, why: "no C compiler (/nonexistent/cc) on PATH" });
  });

  it.skipIf(!hasCc && !inCI)(
    "will not run a helper from a directory others can write",
    async () => {
      const open = scratch();
      execFileSync("chmod", ["0777", open]);
      const built = await buildSockdiagIn({ NETANOMALY_CACHE: open, HOME: "", XDG_CACHE_HOME: "" });
      // The shared directory is skipped; the per-user temp directory is used instead.
      expect(built.ok, JSON.stringify(built)).toBe(true);
      if (built.ok) expect(built.path.startsWith(open)).toBe(false);
    },
  );

  it.skipIf(!hasCc && !inCI)(
    "builds once, then finds the build, and the helper answers a poll",
    async () => {
      const cache = scratch();
      const first = await buildSockdiagIn({ NETANOMALY_CACHE: cache });
      expect(first.ok, JSON.stringify(first)).toBe(true);
      const again = await buildSockdiagIn({ NETANOMALY_CACHE: cache });
      expect(again).toEqual(first);
      if (!first.ok) return;
      const out = execFileSync(first.path, { input: "p\n", encoding: "utf8", timeout: 10_000 });
      // One poll's sockets, then its end line with the count.
      const lines = out
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("D "));
      const end = lines.at(-1) as string;
      expect(end).toMatch(/^E \d+ \d+$/);
      expect(lines.filter((l) => l.startsWith("S "))).toHaveLength(Number(end.split(" ")[1]));
    },
  );
});
