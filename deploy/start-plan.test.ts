import { describe, expect, it } from "vitest";
import { generatedKeyNotice, planStart } from "./start-plan.js";

const CMD = ["--host", "0.0.0.0"];

describe("planStart()", () => {
  it("makes a 32-hex-digit key when none is given, a new one each start", () => {
    const first = planStart(CMD, {});
    const second = planStart(CMD, {});
    expect(first.args).toEqual(CMD);
    expect(first.generatedKey).toMatch(/^[0-9a-f]{32}$/);
    expect(second.generatedKey).not.toBe(first.generatedKey);
  });

  it("makes none when API_KEYS or --api-keys-file gives keys, or --insecure waives them", () => {
    expect(planStart(CMD, { API_KEYS: "k1" }).generatedKey).toBeUndefined();
    expect(planStart([...CMD, "--api-keys-file", "/k"], {}).generatedKey).toBeUndefined();
    expect(planStart([...CMD, "--api-keys-file=/k"], {}).generatedKey).toBeUndefined();
    expect(planStart([...CMD, "--insecure"], {}).generatedKey).toBeUndefined();
  });

  it("treats an empty API_KEYS as no key", () => {
    expect(planStart(CMD, { API_KEYS: "" }).generatedKey).toMatch(/^[0-9a-f]{32}$/);
  });

  it("passes API_KEYS_FILE on as --api-keys-file, unless the flag is given", () => {
    expect(planStart(CMD, { API_KEYS_FILE: "/run/keys/api-keys" })).toEqual({
      args: [...CMD, "--api-keys-file", "/run/keys/api-keys"],
      generatedKey: undefined,
    });
    expect(planStart([...CMD, "--api-keys-file", "/a"], { API_KEYS_FILE: "/b" }).args).toEqual([
      ...CMD,
      "--api-keys-file",
      "/a",
    ]);
  });

  it("makes no key for --help or a bad flag, which the server answers itself", () => {
    expect(planStart(["--help"], {}).generatedKey).toBeUndefined();
    expect(planStart([...CMD, "--bogus"], {})).toEqual({
      args: [...CMD, "--bogus"],
      generatedKey: undefined,
    });
  });
});

describe("generatedKeyNotice()", () => {
  it("shows the key on a line of its own and says how clients send it", () => {
    const lines = generatedKeyNotice("0123456789abcdef0123456789abcdef").split("\n");
    expect(lines).toContain("netanomaly: API key 0123456789abcdef0123456789abcdef");
    expect(lines.join(" ")).toContain("authorization: Bearer <key>");
    expect(lines.at(-1)).toBe("");
  });
});
