import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

/**
 * CPUs this process can use: the cores it may run on
 * (`os.availableParallelism()`, which follows the affinity mask but not
 * CPU quotas), capped by its cgroup's CPU quota rounded up. A container
 * started with `--cpus 2` on a 16-core host gets 2, not 16: cgroup v2
 * `cpu.max` ("200000 100000"), or v1 `cpu/cpu.cfs_quota_us` over
 * `cpu.cfs_period_us`. No quota ("max", −1) or no readable file: no cap.
 *
 * @param cgroupRoot where the cgroup filesystem is mounted (tests point it elsewhere).
 */
export function availableCpus(cgroupRoot = "/sys/fs/cgroup"): number {
  const cores = availableParallelism();
  const quota = cgroupCpuQuota(cgroupRoot);
  return quota === undefined ? cores : Math.max(1, Math.min(cores, Math.ceil(quota)));
}

/** The cgroup CPU quota in CPUs (2.5 for "250000 100000"), or undefined when there is none. */
export function cgroupCpuQuota(cgroupRoot: string): number | undefined {
  const v2 = read(join(cgroupRoot, "cpu.max"));
  if (v2 !== undefined) {
    const [quota, period] = v2.split(/\s+/);
    return ratio(quota, period);
  }
  return ratio(
    read(join(cgroupRoot, "cpu", "cpu.cfs_quota_us")),
    read(join(cgroupRoot, "cpu", "cpu.cfs_period_us")),
  );
}

function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  return Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}
