import { execFileSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OutputPathError, writeFileAtomic } from "./write-atomic.js";

const isRoot = process.getuid?.() === 0;

describe("writeFileAtomic()", () => {
  it("creates a new file and replaces a regular one, leaving no temporary file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netanomaly-out-"));
    const path = join(dir, "sub", "model.json");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, "two");
    expect(readFileSync(path, "utf8")).toBe("two");
    expect(readdirSync(join(dir, "sub"))).toEqual(["model.json"]);
  });

  // Issue 23, item 10: on 20efb59 the temporary file was renamed over whatever was there.
  it.each<[string, (path: string) => void, RegExp]>([
    ["a FIFO", (p) => execFileSync("mkfifo", [p]), /is a FIFO; refusing to replace it/],
    ["a directory", (p) => mkdirSync(p), /is a directory; refusing to replace it/],
    [
      "a symbolic link",
      (p) => {
        writeFileSync(`${p}.target`, "keep");
        symlinkSync(`${p}.target`, p);
      },
      /is a symbolic link .*refusing to replace it/,
    ],
  ])("refuses %s at the path and leaves it as it was", async (_what, make, message) => {
    const dir = mkdtempSync(join(tmpdir(), "netanomaly-out-"));
    const path = join(dir, "model.json");
    make(path);
    const before = lstatSync(path);
    const err = await writeFileAtomic(path, "model").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputPathError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(path);
    const after = lstatSync(path);
    expect([after.ino, after.mode]).toEqual([before.ino, before.mode]);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it.skipIf(!isRoot && process.env.CI !== "true")(
    "refuses a device node (made with mknod, as root)",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "netanomaly-out-"));
      const path = join(dir, "null");
      execFileSync("mknod", [path, "c", "1", "3"]);
      await expect(writeFileAtomic(path, "model")).rejects.toThrow(
        `--out ${path} is a character device; refusing to replace it`,
      );
      expect(lstatSync(path).isCharacterDevice()).toBe(true);
    },
  );
});
