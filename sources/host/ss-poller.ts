import { spawn } from "node:child_process";

/**
 * Runs `ss` on request from one long-lived shell, so each poll forks the
 * small shell, not the agent: forking a Node process of 100+ MB costs
 * milliseconds of page-table copying every poll.
 *
 * The shell reads one line per request, runs `ss ARGS`, and ends the output
 * with a marker line `@@ss-exit STATUS` (ss never prints a line starting
 * with `@@`).
 */
export interface SsPoller {
  /** Output of one `ss` run. Rejects when ss fails or the shell is gone. */
  poll(): Promise<string>;
  /** pid of the shell (its reaped `ss` children count in its cutime). */
  readonly pid: number | undefined;
}

const MARKER = "@@ss-exit ";

/**
 * Starts the shell. `prefix` runs it elsewhere (`ip netns exec NAME`);
 * aborting `signal` ends it.
 */
export function startSsPoller(
  args: readonly string[],
  signal: AbortSignal,
  prefix: readonly string[] = [],
): SsPoller {
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const script = `while read -r _; do ss ${quoted}; echo "${MARKER}$?"; done`;
  const [cmd, ...argv] = [...prefix, "sh", "-c", script];
  const child = spawn(cmd as string, argv, { stdio: ["pipe", "pipe", "pipe"], signal });
  let out = "";
  let scanFrom = 0;
  let stderr = "";
  let waiting: { resolve: (text: string) => void; reject: (err: Error) => void } | undefined;
  let dead: Error | undefined;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    out += chunk;
    const at = out.indexOf(MARKER, Math.max(0, scanFrom - MARKER.length));
    scanFrom = out.length;
    if (at < 0) return;
    const end = out.indexOf("\n", at);
    if (end < 0) return;
    const status = out.slice(at + MARKER.length, end).trim();
    const text = out.slice(0, at);
    out = out.slice(end + 1);
    scanFrom = 0;
    const w = waiting;
    waiting = undefined;
    const problem = stderr.trim();
    stderr = "";
    if (status === "0") w?.resolve(text);
    else if (status === "127")
      w?.reject(new Error("host source needs ss (iproute2), which is not installed"));
    else w?.reject(new Error(`ss ${args.join(" ")} exited ${status}: ${problem}`));
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (t: string) => {
    stderr = (stderr + t).slice(-2000);
  });
  const fail = (err: Error) => {
    dead = err;
    waiting?.reject(err);
    waiting = undefined;
  };
  child.on("error", (err) => fail(err));
  child.on("exit", (code, sig) =>
    fail(new Error(`the ss shell exited (${sig ?? `code ${code}`}) ${stderr.trim()}`)),
  );
  child.stdin.on("error", () => {});
  return {
    get pid() {
      return child.pid;
    },
    poll() {
      if (dead !== undefined) return Promise.reject(dead);
      if (waiting !== undefined) return Promise.reject(new Error("a poll is already running"));
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        child.stdin.write("\n");
      });
    },
  };
}
