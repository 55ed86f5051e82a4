import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createExeHasher } from "./exe-hash.js";

describe.skipIf(process.platform !== "linux")("createExeHasher()", () => {
  it("hashes a process's executable with SHA-256, once per file", async () => {
    const hasher = createExeHasher();
    const expected = createHash("sha256").update(readFileSync(process.execPath)).digest("hex");
    expect(await hasher.hashOf(process.pid)).toBe(expected);
    expect(await hasher.hashOf(process.pid)).toBe(expected);
    expect(hasher.hashed).toBe(1);
  });

  it("returns an empty hash for a process that does not exist", async () => {
    expect(await createExeHasher().hashOf(2 ** 22 + 1)).toBe("");
  });
});

describe.skipIf(process.platform !== "linux")("createExeHasher() after the process exited", () => {
  it("hashes the executable through its path", async () => {
    const expected = createHash("sha256").update(readFileSync("/bin/sh")).digest("hex");
    expect(await createExeHasher().hashOf(2 ** 22 + 1, "/bin/sh")).toBe(expected);
  });
});
