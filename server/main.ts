import cluster from "node:cluster";
import { createContextValues } from "@connectrpc/connect";
import { pino } from "pino";
import { UsageError } from "../cli/usage-error.js";
import { BundleError, ensureBundle } from "../dashboard/bundle.js";
import { createDashboardServer, type DashboardServer } from "../dashboard/dashboard-server.js";
import { ModelFileError } from "../detector/index.js";
import { isLoopbackAddress, remoteAddressKey } from "./auth.js";
import { LOG_REDACT, securityServerOptions } from "./auth-config.js";
import { parseConfig } from "./config.js";
import { tuneHeap } from "./heap-tuning.js";
import { HELP } from "./help.js";
import { startLearning } from "./learn-setup.js";
import { serverLogDestination } from "./log-destination.js";
import { setAnomalyLogRate } from "./logging.js";
import { loadModelHere } from "./model-loader.js";
import { createModelReloader } from "./model-reload.js";
import { serveClusterMetrics, startOperations } from "./operations.js";
import { createServer } from "./server.js";
import { startStatsLog } from "./soak-stats.js";
import { reportStartFailure, superviseWorkers } from "./workers.js";

/** How long shutdown waits for in-flight RPCs before closing connections by force. */
const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * `npm run server -- [--host H] [--port P] [--model FILE] [--log-level L] [--threshold T]`:
 * loads the model, listens, logs `listening`, and shuts down gracefully on
 * SIGTERM or SIGINT (health NOT_SERVING, stop accepting, let in-flight RPCs
 * finish, exit 0; connections still open after 10 s are closed by force).
 * Reloads the model on SIGHUP and when the model file is replaced (see
 * model-reload.ts). `--stats-interval S` (or `NETANOMALY_STATS_INTERVAL`) logs
 * `runtime stats` (RSS, event-loop delay) every S seconds, for soak runs.
 * Tunes V8's old-generation growth first (see heap-tuning.ts). With
 * `--workers N` (N > 1) this process is the supervisor of N such servers
 * (workers.ts), each running this same file. `--metrics` and the alert
 * flags are wired in by operations.ts (the supervisor serves `/metrics`
 * summed over its workers).
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(HELP);
    return;
  }
  const config = parseConfig(args, process.env);
  if (config.workers > 1 && cluster.isPrimary) {
    const logger = pino({ level: config.logLevel }, serverLogDestination());
    await serveClusterMetrics(config.operations, logger);
    const exit = await superviseWorkers({
      workers: config.workers,
      logger,
      stopDeadlineMs: SHUTDOWN_DEADLINE_MS,
    });
    if (exit.message !== undefined) {
      process.stderr.write(`netanomaly server: ${exit.message}\n`);
    }
    process.exit(exit.exitCode);
  }
  // Before the model is loaded: keeps the old generation near its live size (heap-tuning.ts).
  tuneHeap();
  // Installed first: SIGHUP's default action would kill a server still starting.
  let reload: () => void = () => {};
  process.on("SIGHUP", () => reload());
  const security = securityServerOptions(config.security, config.host, (m) => new UsageError(m));
  const logger = pino({ level: config.logLevel, redact: LOG_REDACT }, serverLogDestination());
  setAnomalyLogRate(config.anomalyLogRate);
  const learning =
    config.learn === undefined
      ? undefined
      : await startLearning(config.learn, config.model, config.threshold, logger);
  // Nothing is served yet: loaded on this thread (reloads use a worker thread).
  let detector =
    learning?.detector ?? (await loadModelHere(config.model, { maxBytes: config.maxModelBytes }));
  if (learning === undefined && config.threshold !== undefined) {
    detector = detector.withThreshold(config.threshold);
  }
  const ops = await startOperations(config.operations, {
    logger,
    threshold: detector.threshold,
    worker: cluster.isWorker,
  });
  const app = createServer({
    detector,
    logger,
    ...security,
    fastPath: config.fastPath,
    ...(ops.observer === undefined ? {} : { observer: ops.observer }),
    ...(ops.metrics === undefined ? {} : { metrics: ops.metrics }),
    ...(ops.feedback === undefined ? {} : { feedback: ops.feedback }),
  });
  ops.watchModels(app.models);
  learning?.attach(app.models);
  // Watching before listening: once `listening` is logged, a replaced model file is seen.
  const reloader = createModelReloader({
    path: config.model,
    models: app.models,
    logger,
    threshold: config.threshold,
    onOutcome: (outcome) => {
      ops.onReload(outcome);
      // Watch events for other files in the model's folder end as "unchanged": not a reload.
      if (outcome.status !== "unchanged") {
        app.broadcaster.noteReload(outcome);
      }
    },
    maxModelBytes: config.maxModelBytes,
  });
  // With --learn the learned models are the newer ones: only SIGHUP goes back to --model.
  if (learning === undefined) {
    reloader.watch();
  }
  reload = () => void reloader.reload("SIGHUP");
  const address = await app.listen(config.port, config.host);
  logger.info(
    {
      address: address.address,
      port: address.port,
      url: `${security.tls === undefined ? "http" : "https"}://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`,
      modelVersion: detector.info.version,
      threshold: detector.threshold,
      auth:
        security.apiKeys.size > 0
          ? `${security.apiKeys.size} api keys`
          : security.insecure
            ? "none (--insecure: any client)"
            : "none (loopback clients only)",
      tls:
        security.tls === undefined ? "off" : security.tls.clientCa === undefined ? "on" : "mutual",
      learn:
        config.learn === undefined
          ? "off"
          : {
              dir: config.learn.dir,
              retrainEvery:
                config.learn.everyEvents !== undefined
                  ? `${config.learn.everyEvents} events`
                  : `${(config.learn.everyMs ?? 0) / 60_000} min`,
              guard: `${config.learn.guardHosts} hosts over ${config.learn.guardMinutes} min, ${config.learn.guardRate}/pattern/h`,
            },
    },
    "listening",
  );
  let dashboard: DashboardServer | undefined;
  if (config.dashboard !== undefined) {
    dashboard = createDashboardServer({
      bundleDir: await ensureBundle(),
      connect: app.connect,
      guard: (req, res) => app.guardHttp1(req, res),
      contextValues: (req) =>
        createContextValues().set(remoteAddressKey, req.socket.remoteAddress ?? ""),
      // As on the scoring port: without keys, only this host may connect.
      ...(security.apiKeys.size === 0 && !security.insecure ? { allow: isLoopbackAddress } : {}),
    });
    const at = await dashboard.listen(config.dashboard.port, config.dashboard.host);
    const host = at.family === "IPv6" ? `[${at.address}]` : at.address;
    logger.info(
      { address: at.address, port: at.port, url: `http://${host}:${at.port}/` },
      "dashboard listening",
    );
  }
  const stopStats =
    config.statsIntervalS !== undefined
      ? startStatsLog(logger, config.statsIntervalS * 1000)
      : () => {};
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      return;
    }
    stopping = true;
    reloader.close();
    stopStats();
    await learning?.close();
    logger.info({ signal }, "shutting down");
    const [outcome] = await Promise.all([
      app.shutdown(SHUTDOWN_DEADLINE_MS),
      dashboard?.close(SHUTDOWN_DEADLINE_MS),
    ]);
    await ops.close(SHUTDOWN_DEADLINE_MS / 2);
    logger.info({ outcome }, "stopped");
    process.exit(0);
  };
  process.on("SIGTERM", (s) => void stop(s));
  process.on("SIGINT", (s) => void stop(s));
}

/** Prints why the server could not start (a worker tells its supervisor instead) and exits. */
function exitWith(message: string, exitCode: number): void {
  if (cluster.isWorker) {
    reportStartFailure(message, exitCode);
    return;
  }
  process.stderr.write(`netanomaly server: ${message}\n`);
  process.exit(exitCode);
}

main().catch((e: unknown) => {
  if (e instanceof UsageError) {
    exitWith(`${e.message} (--help lists every flag)`, 2);
    return;
  }
  const known =
    e instanceof ModelFileError ||
    e instanceof BundleError ||
    (e as NodeJS.ErrnoException).code === "EADDRINUSE";
  exitWith(known ? (e as Error).message : String((e as Error).stack ?? e), 1);
});
