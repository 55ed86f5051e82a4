import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, "..", "..");

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => done(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

/** Options for {@link spawnServer}. */
export interface SpawnServerOptions {
  port: number;
  /** Model file; default the repository's models/default.model.json. */
  model?: string;
  /** Further server flags. */
  args?: string[];
  /** Extra environment (for example `NETANOMALY_STATS_INTERVAL`). */
  env?: NodeJS.ProcessEnv;
  /** Called with every parsed JSON log line from stdout. */
  onLine?: (line: Record<string, unknown>) => void;
}

/** The real server (server/main.ts) in a child process on 127.0.0.1. */
export interface ServerChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON line the server logged so far. */
  readonly lines: Record<string, unknown>[];
  /** Resolves with the `listening` line; rejects if the process exits first. */
  readonly listening: Promise<Record<string, unknown>>;
  /** Resolves with the exit code (null if killed by a signal) and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line for which `match` is true (lines already logged count). */
  waitForLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resident set size from /proc/PID/status, MB. */
  rssMb(): number;
}

/**
 * Starts `node --import tsx server/main.ts --host 127.0.0.1 --port P` (not
 * through npx/npm, which do not forward signals), so signals reach the server.
 */
export function spawnServer(options: SpawnServerOptions): ServerChild {
  const args = [
    "--import",
    "tsx",
    join(ROOT, "server", "main.ts"),
    "--host",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--model",
    options.model ?? join(ROOT, "models", "default.model.json"),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      NETANOMALY_HOST: "",
      NETANOMALY_PORT: "",
      NETANOMALY_MODEL: "",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    lines.push(line);
    options.onLine?.(line);
    for (const w of [...waiters]) {
      if (w.match(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const waitForLine = (match: (l: Record<string, unknown>) => boolean) => {
    const seen = lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((done, fail) => {
      waiters.push({ match, resolve: done });
      void exited.then(({ code, signal }) =>
        fail(new Error(`server exited (${code ?? signal}) first: ${stderr.trim().slice(0, 500)}`)),
      );
    });
  };
  const listening = waitForLine((l) => l.msg === "listening");
  listening.catch(() => {});
  return {
    child,
    pid: child.pid as number,
    lines,
    listening,
    exited,
    waitForLine,
    stderr: () => stderr,
    rssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
    },
  };
}

/** SIGKILLs the child if it is still running and waits for it to go. */
export async function killServer(server: ServerChild): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill("SIGKILL");
  }
  await server.exited;
}
