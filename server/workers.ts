import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";

/**
 * `--workers N`: N server processes on one port, forked with `node:cluster`.
 * One Node process serves from one core; past about 5–8k unary calls/s or
 * 130k streamed events/s here it is CPU-bound (bench/README.md), so a host
 * with more cores runs more workers. Each worker is the whole server: its
 * own model (reloaded on its own when the file changes), health, limits
 * (rate limits count per worker) and log lines (each carries its `pid`).
 * The supervisor (the cluster primary) accepts connections and hands them
 * round-robin to the workers; a connection, and every call on it, stays
 * with one worker.
 *
 * The supervisor relays SIGTERM/SIGINT (each worker drains as a single
 * server does) and SIGHUP (each rereads the model), starts a new worker
 * when one dies after start-up (after 0.25 s, doubling with each recent
 * death, at most 10 s; a replacement that cannot start counts as a death,
 * and its reason is logged), and gives up when that keeps happening.
 * A worker that cannot start (bad model, port in use) reports why and the
 * whole server exits with its code. Workers exit with the supervisor
 * (node:cluster ends a worker whose IPC channel closes).
 */

/** A worker's report to the supervisor that it could not start. */
export interface StartFailure {
  type: "netanomaly:start-failed";
  /** What went wrong, as a single server would print it. */
  message: string;
  exitCode: number;
}

/** Options for {@link superviseWorkers}. */
export interface SupervisorOptions {
  workers: number;
  logger: Logger;
  /** How long workers get to drain after SIGTERM before they are killed. */
  stopDeadlineMs: number;
  /** Restarts allowed within {@link RESTART_WINDOW_MS} before the supervisor gives up; default 5. */
  maxRestarts?: number;
}

/** How the supervisor ended: exit 0 after a signal, else the failure. */
export interface SupervisorExit {
  exitCode: number;
  /** Set when the server could not start or its workers kept dying. */
  message?: string;
}

/** The window in which {@link SupervisorOptions.maxRestarts} restarts make the supervisor give up. */
export const RESTART_WINDOW_MS = 60_000;
/** Wait before the first replacement of a dead worker; it doubles with each recent death. */
export const RESTART_BASE_MS = 250;
/** Longest wait before a replacement. */
export const RESTART_MAX_MS = 10_000;

/** Is `m` a {@link StartFailure}? */
export function isStartFailure(m: unknown): m is StartFailure {
  return (
    typeof m === "object" &&
    m !== null &&
    (m as { type?: unknown }).type === "netanomaly:start-failed"
  );
}

/**
 * Forks `workers` copies of this process's entry point (same argv and
 * execArgv) and supervises them until a signal stops them or they fail.
 * Logs `workers listening` once every worker listens.
 *
 * @returns how the supervisor ended; the caller exits with it.
 */
export function superviseWorkers(options: SupervisorOptions): Promise<SupervisorExit> {
  const { logger, workers: size, stopDeadlineMs } = options;
  const maxRestarts = options.maxRestarts ?? 5;
  const listening = new Set<number>();
  // Why a worker could not start, by cluster id, once the server is up.
  const startFailures = new Map<number, string>();
  const restarts: number[] = [];
  const restartTimers = new Set<NodeJS.Timeout>();
  let announced = false;
  let stopping: "signal" | "failure" | undefined;
  let failure: SupervisorExit | undefined;
  let unclean = 0;
  let killTimer: NodeJS.Timeout | undefined;

  const alive = (): Worker[] => Object.values(cluster.workers ?? {}) as Worker[];
  const pids = () => alive().map((w) => w.process.pid);

  return new Promise((resolve) => {
    const finishIfDone = () => {
      if (stopping === undefined || alive().length > 0) {
        return;
      }
      clearTimeout(killTimer);
      process.off("SIGTERM", onStop);
      process.off("SIGINT", onStop);
      process.off("SIGHUP", onHup);
      if (failure !== undefined) {
        resolve(failure);
        return;
      }
      logger.info({ outcome: unclean === 0 ? "graceful" : "forced" }, "stopped");
      resolve({ exitCode: 0 });
    };
    const stopAll = (signal: NodeJS.Signals, reason: "signal" | "failure") => {
      stopping ??= reason;
      for (const timer of restartTimers) clearTimeout(timer);
      restartTimers.clear();
      for (const w of alive()) {
        w.process.kill(signal);
      }
      killTimer ??= setTimeout(() => {
        for (const w of alive()) {
          w.process.kill("SIGKILL");
        }
      }, stopDeadlineMs + 5_000);
      killTimer.unref();
      finishIfDone();
    };
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping !== undefined) {
        return;
      }
      logger.info({ signal, workers: pids() }, "shutting down");
      stopAll("SIGTERM", "signal");
    };
    const onHup = () => {
      // Only to workers that listen (their SIGHUP handler is in place); one
      // still starting reads the model file as it is now anyway.
      for (const w of alive()) {
        if (listening.has(w.id)) w.process.kill("SIGHUP");
      }
    };
    const fail = (exit: SupervisorExit) => {
      failure ??= exit;
      stopAll("SIGTERM", "failure");
    };
    /** A worker died after start-up: start another after a backoff, or give up. */
    const replace = (worker: Worker, code: number | null, signal: string | null) => {
      const now = Date.now();
      restarts.push(now);
      while ((restarts[0] as number) < now - RESTART_WINDOW_MS) restarts.shift();
      const reason = startFailures.get(worker.id);
      startFailures.delete(worker.id);
      const fields = { worker: worker.process.pid, code, signal, ...(reason ? { reason } : {}) };
      if (restarts.length > maxRestarts) {
        logger.fatal(fields, "worker exited");
        fail({
          exitCode: 1,
          message: `workers exited ${restarts.length} times within ${RESTART_WINDOW_MS / 1000} s; giving up${reason ? ` (last: ${reason})` : ""}`,
        });
        return;
      }
      const delayMs = Math.min(RESTART_BASE_MS * 2 ** (restarts.length - 1), RESTART_MAX_MS);
      logger.error({ ...fields, restartInMs: delayMs }, "worker exited; starting another");
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (stopping === undefined) cluster.fork();
      }, delayMs);
      restartTimers.add(timer);
    };

    cluster.on("listening", (worker, address) => {
      listening.add(worker.id);
      if (!announced && listening.size === size) {
        announced = true;
        logger.info({ workers: pids(), port: address.port }, "workers listening");
      }
    });
    cluster.on("message", (worker, message: unknown) => {
      if (!isStartFailure(message)) {
        return;
      }
      listening.delete(worker.id);
      if (announced) {
        // A replacement that cannot start (say the model file went bad): the
        // others go on serving; its exit counts towards giving up.
        startFailures.set(worker.id, message.message);
      } else {
        fail({ exitCode: message.exitCode, message: message.message });
      }
    });
    cluster.on("exit", (worker, code, signal) => {
      listening.delete(worker.id);
      if (code !== 0) {
        unclean++;
      }
      if (stopping === undefined) {
        if (announced) {
          replace(worker, code, signal);
        } else {
          fail({
            exitCode: 1,
            message: `worker ${worker.process.pid} exited (${signal ?? `code ${code}`}) before it listened`,
          });
        }
      }
      finishIfDone();
    });

    process.on("SIGTERM", onStop);
    process.on("SIGINT", onStop);
    process.on("SIGHUP", onHup);
    for (let i = 0; i < size; i++) {
      cluster.fork();
    }
  });
}

/**
 * In a worker: tells the supervisor why this worker could not start, then
 * exits with `exitCode` once the message is sent.
 */
export function reportStartFailure(message: string, exitCode: number): void {
  const report: StartFailure = { type: "netanomaly:start-failed", message, exitCode };
  (process.send as NonNullable<typeof process.send>)(report, undefined, {}, () =>
    process.exit(exitCode),
  );
}
