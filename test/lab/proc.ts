import { type ChildProcess, execFile, spawn } from "node:child_process";

/** What a finished command printed and how it ended. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of `run`. */
export interface RunOptions {
  /** Network namespace to run in (`ip netns exec NS …`); the host's when absent. */
  ns?: string;
  /** Kill after this many ms; default 60 000. Every lab command is bounded. */
  timeoutMs?: number;
  /** Reject when the exit code is not 0; default true. */
  check?: boolean;
  /** Written to the command's standard input. */
  input?: string | Buffer;
}

/** `cmd args…`, or the same inside namespace `ns`. */
export function inNs(ns: string | undefined, cmd: string, args: readonly string[]): string[] {
  return ns === undefined ? [cmd, ...args] : ["ip", "netns", "exec", ns, cmd, ...args];
}

/**
 * Runs a command to its end (bounded by `timeoutMs`) and returns its output.
 *
 * @throws Error naming the command, its exit code and the tail of its stderr
 *   when it fails and `check` is on.
 */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}) {
  const [file, ...argv] = inNs(options.ns, cmd, args) as [string, ...string[]];
  return new Promise<RunResult>((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        if (error && options.check !== false) {
          const why = error.killed ? "timed out" : `exit ${error.code ?? error.signal}`;
          reject(new Error(`${[cmd, ...args].join(" ")}: ${why}: ${stderr.trim().slice(-400)}`));
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Children the lab started and has not yet seen exit; stopped on cleanup. */
const live = new Set<ChildProcess>();

/**
 * Starts a long-running program (a server, a collector, a capture) and keeps
 * track of it so `stopAll` ends it even when the lab fails. Its stderr is kept
 * (the last 8 KiB) for error messages.
 */
export function start(
  cmd: string,
  args: readonly string[],
  options: { ns?: string; stdout?: "pipe" | "ignore" } = {},
): ChildProcess & { stderrTail(): string } {
  const [file, ...argv] = inNs(options.ns, cmd, args) as [string, ...string[]];
  const child = spawn(file, argv, { stdio: ["ignore", options.stdout ?? "ignore", "pipe"] });
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    tail = (tail + d).slice(-8192);
  });
  live.add(child);
  child.on("exit", () => live.delete(child));
  return Object.assign(child, { stderrTail: () => tail });
}

/**
 * Ends a started program: SIGTERM, then SIGKILL after `graceMs`.
 *
 * @returns once it has exited.
 */
export async function stop(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Kills every program `start` started that is still running (synchronous, for exit handlers). */
export function killAll(): void {
  for (const child of live) child.kill("SIGKILL");
}

/** @returns a promise resolved after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
