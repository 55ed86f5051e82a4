import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";

/** How the server is started: through tsx (`npm run server`) or compiled (`node dist/server/main.js`). */
export type ServerMode = "tsx" | "compiled";

/** A server in its own process on 127.0.0.1. */
export interface ServerProcess {
  url: string;
  port: number;
  pid: number;
  /** Milliseconds from spawn to the first health check answering SERVING. */
  readyMs: number;
  /**
   * User + system CPU seconds the server has used so far, from /proc: the
   * process and its children (the workers of `--workers N`).
   */
  cpuSeconds(): Promise<number>;
  /** Current and peak resident set size, MB, from /proc. */
  memory(): Promise<{ rssMb: number; peakRssMb: number }>;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** The command line that starts the server in `mode`, with `extra` flags. */
export function serverCommand(
  mode: ServerMode,
  port: number,
  model: string,
  extra: readonly string[] = [],
): string[] {
  const flags = [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--model",
    model,
    "--log-level",
    "warn",
    ...extra,
  ];
  return mode === "tsx"
    ? ["node", "--import", "tsx", "server/main.ts", ...flags]
    : ["node", "dist/server/main.js", ...flags];
}

/** How {@link startServing} runs a server. */
export interface ServeOptions {
  /** How long it may take to answer SERVING; default 15 s. */
  timeoutMs?: number;
  cwd?: string;
  /**
   * Its stdout: "ignore" (/dev/null, the default), or "pipe", read and
   * dropped by this process, as a container's log collector reads it.
   */
  stdout?: "ignore" | "pipe";
}

/**
 * Spawns the server and waits until its health service answers SERVING
 * (polled every 5 ms with a gRPC health client), up to `timeoutMs`.
 */
export async function startServer(
  mode: ServerMode,
  model: string,
  options: ServeOptions & { extraArgs?: readonly string[] } = {},
): Promise<ServerProcess> {
  return startServing(
    (port) => serverCommand(mode, port, model, options.extraArgs),
    `server (${mode})`,
    options,
  );
}

/**
 * Spawns `command(port)` on a free port and waits until it answers a gRPC
 * health check with SERVING, as {@link startServer} does for the server.
 */
export async function startServing(
  command: (port: number) => string[],
  label: string,
  options: ServeOptions = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const [cmd, ...args] = command(port);
  const started = performance.now();
  const child: ChildProcess = spawn(cmd as string, args, {
    cwd: options.cwd,
    stdio: ["ignore", options.stdout === "pipe" ? "pipe" : "ignore", "pipe"],
  });
  child.stdout?.resume();
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
  const deadline = started + (options.timeoutMs ?? 15_000);
  let readyMs = -1;
  while (performance.now() < deadline && child.exitCode === null) {
    try {
      const res = await health.check({ service: "" }, { timeoutMs: 200 });
      if (res.status === HealthCheckResponse_ServingStatus.SERVING) {
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  if (readyMs < 0) {
    await stop();
    throw new Error(`${label} not SERVING within the timeout: ${stderr.trim().slice(0, 500)}`);
  }
  return {
    url,
    port,
    pid: child.pid as number,
    readyMs,
    async cpuSeconds() {
      const pids = [child.pid as number, ...(await childPids(child.pid as number))];
      let sum = 0;
      for (const pid of pids) sum += await processCpuSeconds(pid);
      return sum;
    },
    async memory() {
      const status = await readFile(`/proc/${child.pid}/status`, "utf8");
      const kb = (key: string) =>
        Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
      return { rssMb: kb("VmRSS") / 1024, peakRssMb: kb("VmHWM") / 1024 };
    },
    stop,
  };
}

/** Fields of /proc/PID/stat after the command name: field n of proc(5) is index n − 3. */
async function statFields(pid: number): Promise<string[]> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** utime + stime of a live process (fields 14 and 15, clock ticks at 100 per second), seconds. */
async function processCpuSeconds(pid: number): Promise<number> {
  try {
    const fields = await statFields(pid);
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0; // gone since it was listed
  }
}

/** Direct children of `pid`, from /proc/PID/task/TID/children. */
async function childPids(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const pids: number[] = [];
  for (const tid of tasks) {
    const text = await readFile(`/proc/${pid}/task/${tid}/children`, "utf8").catch(() => "");
    for (const p of text.trim().split(/\s+/)) if (p !== "") pids.push(Number(p));
  }
  return pids;
}
