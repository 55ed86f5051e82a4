import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Line } from "./lines.js";
import { readLines } from "./lines.js";
import type { SourceProblem } from "./source.js";

/** Longest a test waits for a line that should come; far above the 10 ms poll. */
const LINE_DEADLINE_MS = 10_000;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "follow-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function follow(path: string) {
  const abort = new AbortController();
  const notices: string[] = [];
  const skips: SourceProblem[] = [];
  const ctx = {
    signal: abort.signal,
    onSkip: (p: SourceProblem) => skips.push(p),
    onNotice: (m: string) => notices.push(m),
  };
  const it = readLines(path, { follow: true, intervalS: 0.01 }, ctx)[Symbol.asyncIterator]();
  const next = async (): Promise<Line | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no line within the deadline")), LINE_DEADLINE_MS);
    });
    try {
      const r = await Promise.race([it.next(), deadline]);
      return r.done ? undefined : r.value;
    } finally {
      clearTimeout(timer);
    }
  };
  return { abort, notices, skips, next };
}

describe("readLines() with follow", () => {
  it("reads what is appended, then the new file after rotation, then after truncation", async () => {
    const path = join(dir, "conn.log");
    await writeFile(path, "a\nb\n");
    const f = follow(path);
    expect((await f.next())?.text).toBe("a");
    expect((await f.next())?.text).toBe("b");

    await appendFile(path, "c\n");
    expect(await f.next()).toMatchObject({ text: "c", line: 3 });

    // Rotation: the writer adds a last line without its newline, the file is
    // renamed away, and a new one is created at the path.
    await appendFile(path, "d");
    await rename(path, join(dir, "conn.log.1"));
    await writeFile(path, "e\n");
    expect(await f.next()).toMatchObject({ text: "d", line: 4 });
    expect(await f.next()).toMatchObject({ text: "e", line: 1, where: path });
    expect(f.notices).toContain(
      `${path}: rotated (a new file at the path); reading it from its start`,
    );

    // Truncation in place (copytruncate), then new lines.
    await appendFile(path, "f\n");
    expect((await f.next())?.text).toBe("f");
    await truncate(path, 0);
    await writeFile(path, "g\n");
    expect((await f.next())?.text).toBe("g");
    expect(f.notices.some((n) => n.startsWith(`${path}: truncated to`))).toBe(true);

    f.abort.abort();
    expect(await f.next()).toBeUndefined();
    expect(f.skips).toEqual([]);
  });

  it("stops waiting on an idle file when the signal aborts", async () => {
    const path = join(dir, "eve.json");
    await writeFile(path, "x\n");
    const f = follow(path);
    expect((await f.next())?.text).toBe("x");
    const pending = f.next();
    f.abort.abort();
    expect(await pending).toBeUndefined();
  });

  it("throws naming a file that does not exist", async () => {
    const f = follow(join(dir, "missing.log"));
    await expect(f.next()).rejects.toThrow(/missing\.log does not exist/);
  });

  it("reads a gzipped file to its end instead, saying so", async () => {
    const path = join(dir, "conn.log.gz");
    await writeFile(path, gzipSync("1\n2\n"));
    const f = follow(path);
    expect((await f.next())?.text).toBe("1");
    expect((await f.next())?.text).toBe("2");
    expect(await f.next()).toBeUndefined();
    expect(f.notices).toEqual([`${path}: gzip-compressed, so it is read to its end, not followed`]);
  });
});
