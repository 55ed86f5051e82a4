import { resolve } from "node:path";
import { parseSyslogTarget, type SyslogTarget } from "../alerts/index.js";
import type { UsageError } from "../cli/usage-error.js";
import { type MetricsAddress, parseMetricsAddress } from "../metrics/index.js";

/** Flags of metrics and alerts, for `parseFlags`. */
export const OPERATIONS_FLAGS = {
  metrics: { type: "string" },
  "alert-webhook": { type: "string" },
  "alert-webhook-secret": { type: "string" },
  "alert-syslog": { type: "string" },
  "alert-file": { type: "string" },
  "alert-dedup": { type: "string" },
  suppressions: { type: "string" },
} as const;

/** Metrics and alert settings. */
export interface OperationsConfig {
  /** Where `/metrics` listens (`--metrics`), or undefined for no metrics. */
  metrics: MetricsAddress | undefined;
  /** JSONL file alerts are appended to (absolute). */
  alertFile: string | undefined;
  /** URL alerts are POSTed to. */
  alertWebhook: string | undefined;
  /** HMAC-SHA256 key for the webhook signature (`--alert-webhook-secret` or `NETANOMALY_ALERT_WEBHOOK_SECRET`). */
  alertWebhookSecret: string | undefined;
  alertSyslog: SyslogTarget | undefined;
  /** De-duplication window, seconds in [0, 86400]; 0 (default) alerts every anomaly. */
  alertDedupS: number;
  /** Suppression rules file (absolute), watched. */
  suppressions: string | undefined;
}

/** True when any alert output is set. */
export function alertsOn(c: OperationsConfig): boolean {
  return c.alertFile !== undefined || c.alertWebhook !== undefined || c.alertSyslog !== undefined;
}

/**
 * Reads the metrics and alert flags (each also from `NETANOMALY_METRICS`,
 * `NETANOMALY_ALERT_*`, `NETANOMALY_SUPPRESSIONS`; flags win).
 *
 * @throws UsageError (made by `usage`) naming the bad flag and value.
 */
export function parseOperationsConfig(
  values: Record<string, string | boolean | undefined | (string | boolean)[]>,
  env: NodeJS.ProcessEnv,
  usage: (message: string) => UsageError,
): OperationsConfig {
  const pick = (flag: string): string | undefined => {
    const v = values[flag];
    const name = `NETANOMALY_${flag.toUpperCase().replace(/-/g, "_")}`;
    return typeof v === "string" ? v : env[name] || undefined;
  };
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw e instanceof RangeError ? usage(e.message) : e;
    }
  };
  const metricsText = pick("metrics");
  const webhook = pick("alert-webhook");
  if (webhook !== undefined && !/^https?:\/\/[^\s]+$/.test(webhook)) {
    throw usage(
      `--alert-webhook must be an http:// or https:// URL, got ${JSON.stringify(webhook)}`,
    );
  }
  const secret = pick("alert-webhook-secret");
  if (secret !== undefined && webhook === undefined) {
    throw usage("--alert-webhook-secret needs --alert-webhook");
  }
  const syslogText = pick("alert-syslog");
  const dedupText = pick("alert-dedup") ?? "0";
  const dedup = Number(dedupText);
  if (dedupText.trim() === "" || !(dedup >= 0 && dedup <= 86_400)) {
    throw usage(`--alert-dedup must be seconds in [0, 86400], got ${JSON.stringify(dedupText)}`);
  }
  const file = pick("alert-file");
  const suppressions = pick("suppressions");
  return {
    metrics: metricsText === undefined ? undefined : wrap(() => parseMetricsAddress(metricsText)),
    alertFile: file === undefined ? undefined : resolve(file),
    alertWebhook: webhook,
    alertWebhookSecret: secret,
    alertSyslog: syslogText === undefined ? undefined : wrap(() => parseSyslogTarget(syslogText)),
    alertDedupS: dedup,
    suppressions: suppressions === undefined ? undefined : resolve(suppressions),
  };
}
