import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { availableCpus, cgroupCpuQuota } from "./cpu-limit.js";

const roots: string[] = [];

/** A fake cgroup mount holding `files` (path → contents). */
function cgroup(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "netanomaly-cgroup-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), `${text}\n`);
  }
  return root;
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe("cgroupCpuQuota()", () => {
  it("reads cgroup v2 cpu.max", () => {
    expect(cgroupCpuQuota(cgroup({ "cpu.max": "250000 100000" }))).toBe(2.5);
    expect(cgroupCpuQuota(cgroup({ "cpu.max": "max 100000" }))).toBeUndefined();
  });

  it("reads cgroup v1 cfs quota and period", () => {
    const v1 = (quota: string) =>
      cgroup({ "cpu/cpu.cfs_quota_us": quota, "cpu/cpu.cfs_period_us": "100000" });
    expect(cgroupCpuQuota(v1("50000"))).toBe(0.5);
    expect(cgroupCpuQuota(v1("-1"))).toBeUndefined();
  });

  it("is undefined without cgroup files", () => {
    expect(cgroupCpuQuota(cgroup({}))).toBeUndefined();
  });
});

describe("availableCpus()", () => {
  it("caps the cores by the quota, rounded up, never below 1", () => {
    const cores = availableParallelism();
    expect(availableCpus(cgroup({}))).toBe(cores);
    expect(availableCpus(cgroup({ "cpu.max": "50000 100000" }))).toBe(1);
    expect(availableCpus(cgroup({ "cpu.max": "100001 100000" }))).toBe(Math.min(cores, 2));
    expect(availableCpus(cgroup({ "cpu.max": "6400000 100000" }))).toBe(cores);
  });
});
