import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createApiKeys, isLoopbackAddress, isLoopbackHost, loadApiKeys } from "./auth.js";

const dir = mkdtempSync(join(tmpdir(), "netanomaly-auth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("createApiKeys()", () => {
  it("matches a held key by its 1-based index, and nothing else", () => {
    const keys = createApiKeys(["alpha-key", "beta-key"]);
    expect(keys.size).toBe(2);
    expect(keys.match("alpha-key")).toBe(1);
    expect(keys.match("beta-key")).toBe(2);
    expect(keys.match("alpha-ke")).toBe(0);
    expect(keys.match("alpha-key ")).toBe(0);
    expect(keys.match("")).toBe(0);
    expect(keys.match("x".repeat(100_000))).toBe(0);
  });

  it("rejects a key with spaces or control characters without echoing it", () => {
    expect(() => createApiKeys(["good", "has space"])).toThrow(
      "key 2 has characters outside visible ASCII (0x21-0x7e)",
    );
  });
});

describe("loadApiKeys()", () => {
  it("merges API_KEYS and the keys file, skipping blanks and # comments", () => {
    const file = join(dir, "keys.txt");
    writeFileSync(file, "# agents\nfile-key-1\n\n  file-key-2  \r\n# end\n");
    const keys = loadApiKeys(" env-key-1, env-key-2 ,", file);
    expect(keys.size).toBe(4);
    for (const k of ["env-key-1", "env-key-2", "file-key-1", "file-key-2"]) {
      expect(keys.match(k)).toBeGreaterThan(0);
    }
    expect(keys.match("# agents")).toBe(0);
  });

  it("names the file and line of a bad key", () => {
    const file = join(dir, "bad.txt");
    writeFileSync(file, "ok-key\nbad key here\n");
    expect(() => loadApiKeys(undefined, file)).toThrow(`${file}:2: key has characters outside`);
  });

  it("holds no keys when neither source gives one", () => {
    expect(loadApiKeys(undefined, undefined).size).toBe(0);
    expect(loadApiKeys(" , ", undefined).size).toBe(0);
  });
});

describe("isLoopbackAddress()", () => {
  it.each(["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"])(
    "accepts %s",
    (address) => expect(isLoopbackAddress(address)).toBe(true),
  );
  it.each(["10.0.0.1", "::ffff:10.0.0.1", "192.168.1.5", "::", "0.0.0.0", "fe80::1", "", "x"])(
    "refuses %j",
    (address) => expect(isLoopbackAddress(address)).toBe(false),
  );
  it("refuses an unknown address", () => expect(isLoopbackAddress(undefined)).toBe(false));
});

describe("isLoopbackHost()", () => {
  it("knows localhost and loopback literals from wildcard and public hosts", () => {
    expect(["localhost", "127.0.0.1", "::1"].map(isLoopbackHost)).toEqual([true, true, true]);
    expect(["0.0.0.0", "::", "example.com", "10.1.1.1"].map(isLoopbackHost)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
