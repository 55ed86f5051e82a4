import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

/** Helpers for the operations tests: real server processes, the real agent, free ports, tools. */

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

/** True when `path` exists, or CI requires the tool anyway (the test then fails, not skips). */
export function toolPresent(path: string): boolean {
  return existsSync(path) || process.env.CI === "true";
}

/** A free loopback TCP port (for tools that cannot be told port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A server process started by {@link startServer}. */
export interface ServerProcess {
  child: ChildProcess;
  /** Every JSON log line so far. */
  lines: Record<string, unknown>[];
  /** The scoring URL, `http://127.0.0.1:PORT`. */
  url: string;
  /** The `/metrics` URL, if `--metrics` was given. */
  metricsUrl: string | undefined;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Runs `server/main.ts` with `args` (add `--port 0` yourself) and resolves
 * once it logged `listening` (with `--workers`, `workers listening`).
 */
export async function startServer(args: string[], track: (c: ChildProcess) => void) {
  // node itself, not the tsx wrapper: a SIGKILL after a failed test must reach the server.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "server/main.ts"), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, NETANOMALY_PORT: "", NETANOMALY_MODEL: "", NETANOMALY_HOST: "" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  track(child);
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const workers = args.includes("--workers");
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const up = await new Promise<{ url: string; metricsUrl: string | undefined }>(
    (resolve, reject) => {
      let metricsUrl: string | undefined;
      let url: string | undefined;
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        lines.push(obj);
        if (obj.msg === "metrics listening") {
          metricsUrl = obj.url as string;
        }
        if (obj.msg === "listening" && url === undefined) {
          url = obj.url as string;
          if (!workers) resolve({ url, metricsUrl });
        }
        if (obj.msg === "workers listening" && url !== undefined) {
          resolve({ url, metricsUrl });
        }
      });
      void exited.then(() => reject(new Error(`server exited before listening: ${stderr}`)));
    },
  );
  return {
    child,
    lines,
    ...up,
    stop() {
      child.kill("SIGTERM");
      return exited;
    },
  } satisfies ServerProcess;
}

/** What `agent/main.ts --json` prints. */
export interface AgentSummary {
  sent: number;
  scored: number;
  errors: number;
  lost: number;
  anomalies: number;
  fatal?: string;
}

/** Runs the real agent (`npx tsx agent/main.ts --count N --rate 0 --target URL --json …`). */
export async function runAgent(target: string, count: number, extra: string[] = []) {
  const { stdout } = await run(
    "timeout",
    [
      "120",
      TSX,
      join(ROOT, "agent/main.ts"),
      "--count",
      String(count),
      "--rate",
      "0",
      "--target",
      target,
      "--json",
      ...extra,
    ],
    { cwd: ROOT, maxBuffer: 1 << 22 },
  );
  return JSON.parse(stdout) as AgentSummary;
}

/** Polls `check` every 200 ms until it returns a value, at most `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
