import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const SCRIPT = join(import.meta.dirname, "install-tools.sh");

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A directory for PATH holding only a `go` that reports `version` (none when undefined). */
function pathWithGo(version: string | undefined): string {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-install-tools-"));
  if (version !== undefined) {
    const go = join(dir, "go");
    writeFileSync(go, `#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo ${version}\n`);
    chmodSync(go, 0o755);
  }
  return dir;
}

/** Runs the script with only `path` on PATH, so nothing is installed. */
function run(path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("/bin/bash", [SCRIPT], { env: { PATH: path, HOME: path } }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

describe("scripts/install-tools.sh", () => {
  it("stops before installing anything, in one line, when there is no go", async () => {
    const r = await run(pathWithGo(undefined));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "install-tools: needs Go 1.21 or newer on PATH, and there is no go (install it from https://go.dev/dl/; Debian bookworm's golang-go 1.19 is too old)\n",
    );
  });

  it("names the go it found when that is too old (Debian bookworm's 1.19)", async () => {
    const path = pathWithGo("go1.19.8");
    const r = await run(path);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `install-tools: needs Go 1.21 or newer, and ${path}/go is go1.19.8 (install a newer one from https://go.dev/dl/)\n`,
    );
  });

  it("names the Debian packages it needs when there is no apt-get", async () => {
    const r = await run(pathWithGo("go1.26.0"));
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")).toEqual([
      expect.stringMatching(
        /^install-tools: needs Debian packages protobuf-compiler .*, and there is no apt-get here: install them yourself, then run this again$/,
      ),
      "",
    ]);
  });
});
