import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import {
  type Alerter,
  type AlertOutput,
  createAlerter,
  createFileOutput,
  createSyslogOutput,
  createWebhookOutput,
  FeedbackError,
  openSuppressionFile,
  type SuppressionFile,
} from "../alerts/index.js";
import { AlertVerdict, FeedbackResponseSchema } from "../gen/netanomaly/v1/scoring_service_pb.js";
import {
  createClusterCollector,
  createServerMetrics,
  type MetricsServer,
  type ServerMetrics,
  serveMetrics,
  shareWithSupervisor,
} from "../metrics/index.js";
import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { feedbackError } from "./errors.js";
import type { ModelHolder } from "./model-holder.js";
import type { ReloadOutcome } from "./model-reload.js";
import { alertsOn, type OperationsConfig } from "./operations-config.js";
import type { FeedbackHandler, ScoringObserver } from "./scoring-service.js";

/**
 * Wiring of the metrics and alerts rooms into one server process: what
 * `createServer` takes (observer, metrics, feedback) and the hooks `main.ts`
 * calls (model swaps and reloads, shutdown).
 */
export interface Operations {
  observer: ScoringObserver | undefined;
  metrics: ServerMetrics | undefined;
  feedback: FeedbackHandler | undefined;
  /** The metrics endpoint, when this process serves one itself. */
  metricsServer: MetricsServer | undefined;
  /** Follows the model serving (threshold and model info gauges). */
  watchModels(models: ModelHolder): void;
  /** Counts a model reload. */
  onReload(outcome: ReloadOutcome): void;
  /** Sends pending alerts (within `deadlineMs`) and stops the metrics endpoint. */
  close(deadlineMs: number): Promise<void>;
}

/** Why events are rejected, as `netanomaly_events_rejected_total{reason}` may say. */
const REJECT_REASONS = [...TELEMETRY_COLUMNS, "event", "events", "request_id"];

/** Options for {@link startOperations}. */
export interface StartOperationsOptions {
  logger: Logger;
  /** Threshold at start, for the score histogram's buckets. */
  threshold: number;
  /** A `--workers` worker: metrics go to the supervisor, which serves them. */
  worker: boolean;
}

/**
 * Builds metrics (serving `/metrics` unless this is a worker) and the
 * alerter with its outputs and suppression file, as `config` asks.
 */
export async function startOperations(
  config: OperationsConfig,
  options: StartOperationsOptions,
): Promise<Operations> {
  const { logger } = options;
  let metrics: ServerMetrics | undefined;
  let metricsServer: MetricsServer | undefined;
  if (config.metrics !== undefined) {
    metrics = createServerMetrics({ threshold: options.threshold, reasons: REJECT_REASONS });
    if (options.worker) {
      shareWithSupervisor(metrics.registry);
    } else {
      metricsServer = await serveMetrics({
        ...config.metrics,
        collect: metrics.collect,
        onError: (err) => logger.error({ err }, "collecting metrics failed"),
      });
      logger.info(
        { url: `http://${hostPort(metricsServer.address)}/metrics` },
        "metrics listening",
      );
    }
  }
  const product = metrics?.product;
  let alerter: Alerter | undefined;
  let suppressions: SuppressionFile | undefined;
  if (config.suppressions !== undefined) {
    suppressions = await openSuppressionFile({
      path: config.suppressions,
      logger,
      onLoad: (result, rules) => product?.suppressions(result, rules),
    });
  }
  if (alertsOn(config)) {
    const log = logger.child({ component: "alerts" });
    const outputs: AlertOutput[] = [];
    const reportFor = (output: string) => (outcome: "sent" | "failed", n: number) =>
      product?.alert(outcome, output, n);
    const onError = (output: string) => (e: unknown) =>
      log.warn({ output, reason: (e as Error).message }, "alert delivery failed, retrying");
    if (config.alertFile !== undefined) {
      outputs.push(createFileOutput(config.alertFile, reportFor("file"), onError("file")));
    }
    if (config.alertWebhook !== undefined) {
      outputs.push(
        createWebhookOutput({
          url: config.alertWebhook,
          ...(config.alertWebhookSecret === undefined ? {} : { secret: config.alertWebhookSecret }),
          report: reportFor("webhook"),
          onError: onError("webhook"),
        }),
      );
    }
    if (config.alertSyslog !== undefined) {
      outputs.push(
        createSyslogOutput({
          ...config.alertSyslog,
          report: reportFor("syslog"),
          onError: onError("syslog"),
        }),
      );
    }
    alerter = createAlerter({
      outputs,
      dedupMs: config.alertDedupS * 1000,
      ...(suppressions === undefined ? {} : { suppressions }),
      ...(config.alertFile === undefined ? {} : { alertFile: config.alertFile }),
      logger,
      report: (outcome, output, n) => product?.alert(outcome, output, n),
    });
  }
  const observer: ScoringObserver | undefined =
    product === undefined && alerter === undefined
      ? undefined
      : {
          scored(detector, scores, n, anomalies) {
            product?.scored(scores, n, anomalies.length);
            if (alerter !== undefined && anomalies.length > 0) {
              const threshold = detector.threshold;
              const modelVersion = detector.info.version;
              alerter.offer(anomalies.map((a) => ({ ...a, threshold, modelVersion })));
            }
          },
          rejected: (field, n) => product?.rejected(field, n),
          rateLimited: () => product?.rateLimited(),
        };
  const feedback: FeedbackHandler | undefined =
    alerter === undefined
      ? undefined
      : async (req) => {
          const verdict =
            req.verdict === AlertVerdict.BENIGN
              ? "benign"
              : req.verdict === AlertVerdict.MALICIOUS
                ? "malicious"
                : undefined;
          if (verdict === undefined) {
            throw feedbackError(
              "invalid_argument",
              `verdict must be ALERT_VERDICT_BENIGN or ALERT_VERDICT_MALICIOUS, got ${req.verdict}`,
            );
          }
          try {
            const r = await (alerter as Alerter).feedback({
              alertId: req.alertId,
              verdict,
              suppress: req.suppress,
              reason: req.reason,
              suppressForSeconds: req.suppressForSeconds,
            });
            product?.feedback(verdict);
            return create(FeedbackResponseSchema, r);
          } catch (e) {
            throw e instanceof FeedbackError ? feedbackError(e.kind, e.message) : e;
          }
        };
  return {
    observer,
    metrics,
    feedback,
    metricsServer,
    watchModels(models) {
      const current = models.current();
      if (current !== undefined) {
        product?.model(current.info.version, current.threshold);
      }
      models.onSwap((d) => product?.model(d.info.version, d.threshold));
    },
    onReload(outcome) {
      if (outcome.status !== "unchanged") {
        product?.reload(outcome.status === "swapped" ? "ok" : "rejected");
      }
    },
    async close(deadlineMs) {
      await alerter?.close(deadlineMs);
      if (alerter === undefined) {
        suppressions?.close();
      }
      await metricsServer?.close();
    },
  };
}

/**
 * The supervisor's `/metrics` under `--workers`: each scrape sums every
 * worker's metrics (prom-client's cluster aggregation).
 */
export async function serveClusterMetrics(
  config: OperationsConfig,
  logger: Logger,
): Promise<MetricsServer | undefined> {
  if (config.metrics === undefined) {
    return undefined;
  }
  const server = await serveMetrics({
    ...config.metrics,
    collect: createClusterCollector(),
    onError: (err) => logger.error({ err }, "collecting metrics from workers failed"),
  });
  logger.info({ url: `http://${hostPort(server.address)}/metrics` }, "metrics listening");
  return server;
}

function hostPort(a: { address: string; family: string; port: number }): string {
  return `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
}
