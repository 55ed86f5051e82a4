import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
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
  /** User + system CPU seconds the server process has used so far, from /proc. */
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

/** The command line that starts the server in `mode`. */
export function serverCommand(mode: ServerMode, port: number, model: string): string[] {
  const flags = [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--model",
    model,
    "--log-level",
    "warn",
  ];
  return mode === "tsx"
    ? ["node", "--import", "tsx", "server/main.ts", ...flags]
    : ["node", "dist/server/main.js", ...flags];
}

/**
 * Spawns the server and waits until its health service answers SERVING
 * (polled every 5 ms with a gRPC health client), up to `timeoutMs`.
 */
export async function startServer(
  mode: ServerMode,
  model: string,
  options: { timeoutMs?: number; cwd?: string } = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const [cmd, ...args] = serverCommand(mode, port, model);
  const started = performance.now();
  const child: ChildProcess = spawn(cmd as string, args, {
    cwd: options.cwd,
    stdio: ["ignore", "ignore", "pipe"],
  });
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
    throw new Error(
      `server (${mode}) not SERVING within the timeout: ${stderr.trim().slice(0, 500)}`,
    );
  }
  return {
    url,
    port,
    pid: child.pid as number,
    readyMs,
    async cpuSeconds() {
      // Fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
      const stat = await readFile(`/proc/${child.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
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
