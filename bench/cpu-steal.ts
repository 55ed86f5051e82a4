import { readFileSync } from "node:fs";

/** The machine-wide CPU counters of /proc/stat's first line, in clock ticks. */
export interface CpuTicks {
  total: number;
  /** Time the hypervisor ran something else while this VM's CPUs wanted to run. */
  steal: number;
}

/** Reads /proc/stat; undefined where there is none (not Linux). */
export function readCpuTicks(): CpuTicks | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/**
 * Share of all CPU time between two readings that the hypervisor gave to
 * others (steal): on a shared VM the benchmark's figures drop as it rises.
 */
export function stealShare(
  from: CpuTicks | undefined,
  to: CpuTicks | undefined,
): number | undefined {
  if (from === undefined || to === undefined || to.total <= from.total) return undefined;
  return (to.steal - from.steal) / (to.total - from.total);
}
