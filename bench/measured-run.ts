import { execFile } from "node:child_process";
import { promisify } from "node:util";

/**
 * Runs `command` with `args` under `sh` and returns its stdout with the CPU
 * seconds (user + system) it and its descendants used, read from the
 * shell's cutime/cstime (fields 16 and 17 of /proc/PID/stat) once it has
 * waited for them. `timeout` bounds the run.
 */
export async function runMeasured(
  command: string,
  args: readonly string[],
  timeoutS: number,
): Promise<{ stdout: string; cpuSeconds: number }> {
  const script = 'timeout "$0" "$@"; rc=$?; cat /proc/$$/stat >&2; exit $rc';
  const { stdout, stderr } = await promisify(execFile)(
    "sh",
    ["-c", script, String(timeoutS), command, ...args],
    { maxBuffer: 1 << 26 },
  );
  const stat = stderr.trim().split("\n").at(-1) ?? "";
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { stdout, cpuSeconds: (Number(fields[13]) + Number(fields[14])) / 100 };
}
