import { spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { userInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { createProcessReader } from "./proc-info.js";

describe.skipIf(process.platform !== "linux")("createProcessReader()", () => {
  it("reads this process's executable, parent and user", async () => {
    const reader = createProcessReader();
    const lookup = await reader.read(process.pid);
    expect(lookup.ok).toBe(true);
    if (!lookup.ok) return;
    expect(lookup.info.path).toBe(realpathSync(process.execPath));
    expect(lookup.info.uid).toBe(process.getuid?.());
    expect(lookup.info.user).toBe(userInfo().username);
    expect(lookup.info.parentName).not.toBe("");
  });

  it("serves a second read of the same process from its cache", async () => {
    const reader = createProcessReader();
    const first = await reader.read(process.pid);
    const second = await reader.read(process.pid);
    expect(second).toEqual(first);
    expect(reader.size).toBe(1);
  });

  it("says vanished, not throws, for a process that has exited", async () => {
    const child = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
    const pid = Number(child.stdout.trim());
    const lookup = await createProcessReader().read(pid);
    expect(lookup).toMatchObject({ ok: false, problem: "vanished", where: `/proc/${pid}` });
  });

  it("shows a user missing from the passwd file by uid", async () => {
    const lookup = await createProcessReader({ passwdPath: "/nonexistent" }).read(process.pid);
    expect(lookup.ok && lookup.info.user).toBe(String(process.getuid?.()));
  });
});
