import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import {
  type Alert,
  type AnomalyInput,
  buildAlert,
  eventTimeMs,
  patternKey,
  patternOf,
} from "./alert.js";
import type { AlertOutput } from "./output.js";
import type { SuppressionFile } from "./suppression-file.js";
import { findSuppression } from "./suppressions.js";

/** Counts what becomes of anomalies: the `netanomaly_alerts_*_total` metrics. */
export type AlertReport = (
  outcome: "sent" | "failed" | "suppressed" | "deduplicated",
  output: string | undefined,
  n: number,
) => void;

/** Options for {@link createAlerter}. */
export interface AlerterOptions {
  outputs: readonly AlertOutput[];
  /** De-duplication window, ms; 0 (default) sends each anomaly at once as its own alert. */
  dedupMs?: number;
  /** Rules that silence matching anomalies. */
  suppressions?: SuppressionFile;
  /** The JSONL alert file, searched by Feedback for an alert no longer held in memory. */
  alertFile?: string;
  logger: Logger;
  report?: AlertReport;
  /** Alerts remembered for Feedback; default 10 000. */
  recentMax?: number;
  /** Patterns waiting in the window at most; past it anomalies are alerted at once. Default 10 000. */
  maxGroups?: number;
  /** Clock, ms; default Date.now. */
  now?: () => number;
}

/** A person's verdict on an alert (the Feedback RPC). */
export interface FeedbackInput {
  alertId: string;
  verdict: "benign" | "malicious";
  /** Add a suppression rule matching the alert (benign only). */
  suppress: boolean;
  reason: string;
  /** Lifetime of the rule in seconds; 0 = never expires. */
  suppressForSeconds: number;
}

/** What Feedback recorded. */
export interface FeedbackResult {
  alertId: string;
  /** Id of the rule added, or "" if none. */
  suppressionId: string;
  /** The rule line written, or "". */
  suppressionRule: string;
}

/** Why Feedback failed, in gRPC's words (the server maps it to a code). */
export class FeedbackError extends Error {
  constructor(
    readonly kind: "invalid_argument" | "not_found" | "failed_precondition",
    message: string,
  ) {
    super(message);
    this.name = "FeedbackError";
  }
}

/** Turns anomalies into alerts on every output. */
export interface Alerter {
  /** Anomalies of one request or batch (already counted as anomalies by the caller). */
  offer(anomalies: readonly AnomalyInput[]): void;
  /** Records a verdict and, if asked, adds a suppression rule. */
  feedback(input: FeedbackInput): Promise<FeedbackResult>;
  /** Sends the alerts still in the de-duplication window, then closes the outputs within `deadlineMs`. */
  close(deadlineMs: number): Promise<void>;
}

interface Group {
  key: string;
  worst: AnomalyInput;
  count: number;
  firstSeenMs: number;
  lastSeenMs: number;
  timer: NodeJS.Timeout | undefined;
}

/** Longest `reason`, characters. */
export const MAX_REASON = 512;
/** Longest `alert_id`, characters. */
export const MAX_ALERT_ID = 128;

/**
 * Creates the alerter. Each anomaly is first checked against the
 * suppression rules: a match is counted `suppressed` and goes no further
 * (the caller has already scored and counted it). Otherwise, with a window,
 * anomalies of one pattern (source host, process, destination, top features;
 * `alert.ts`) are gathered from the first one for `dedupMs`, then sent as
 * one alert carrying the highest-scoring event and the `count` (every one
 * after the first counted `deduplicated`); without a window each is sent at
 * once. Every alert goes to every output.
 */
export function createAlerter(options: AlerterOptions): Alerter {
  const dedupMs = options.dedupMs ?? 0;
  const now = options.now ?? Date.now;
  const report: AlertReport = options.report ?? (() => {});
  const recentMax = options.recentMax ?? 10_000;
  const maxGroups = options.maxGroups ?? 10_000;
  const log = options.logger.child({ component: "alerts" });
  const groups = new Map<string, Group>();
  const recent = new Map<string, Alert>();

  const emit = (g: Group) => {
    groups.delete(g.key);
    clearTimeout(g.timer);
    const alert = buildAlert(g.worst, { ...g, nowMs: now() });
    recent.delete(alert.alertId);
    recent.set(alert.alertId, alert);
    if (recent.size > recentMax) {
      recent.delete(recent.keys().next().value as string);
    }
    for (const output of options.outputs) {
      output.send(alert);
    }
  };

  const offerOne = (a: AnomalyInput, nowMs: number) => {
    const rules = options.suppressions?.rules();
    if (rules !== undefined && rules.length > 0 && findSuppression(rules, a.event, nowMs)) {
      report("suppressed", undefined, 1);
      return;
    }
    const key = patternKey(patternOf(a));
    const seen = eventTimeMs(a.event, nowMs);
    const open = groups.get(key);
    if (open !== undefined) {
      open.count++;
      open.firstSeenMs = Math.min(open.firstSeenMs, seen);
      open.lastSeenMs = Math.max(open.lastSeenMs, seen);
      if (a.score > open.worst.score) {
        open.worst = a;
      }
      report("deduplicated", undefined, 1);
      return;
    }
    const g: Group = {
      key,
      worst: a,
      count: 1,
      firstSeenMs: seen,
      lastSeenMs: seen,
      timer: undefined,
    };
    if (dedupMs <= 0 || groups.size >= maxGroups) {
      emit(g);
      return;
    }
    groups.set(key, g);
    g.timer = setTimeout(() => emit(g), dedupMs);
  };

  const lookup = async (id: string): Promise<Alert | undefined> => {
    const held = recent.get(id);
    if (held !== undefined || options.alertFile === undefined) {
      return held;
    }
    const needle = `"alertId":${JSON.stringify(id)}`;
    let found: Alert | undefined;
    try {
      const lines = createInterface({ input: createReadStream(options.alertFile) });
      for await (const line of lines) {
        if (line.includes(needle)) {
          found = JSON.parse(line) as Alert;
        }
      }
    } catch (e) {
      log.warn({ reason: (e as Error).message }, "reading the alert file for feedback failed");
    }
    return found;
  };

  return {
    offer(anomalies) {
      const nowMs = now();
      for (const a of anomalies) {
        offerOne(a, nowMs);
      }
    },
    async feedback(input) {
      if (input.alertId === "" || input.alertId.length > MAX_ALERT_ID) {
        throw new FeedbackError(
          "invalid_argument",
          `alert_id must have 1 to ${MAX_ALERT_ID} characters, got ${input.alertId.length}`,
        );
      }
      if (input.reason.length > MAX_REASON) {
        throw new FeedbackError(
          "invalid_argument",
          `reason has ${input.reason.length} characters, at most ${MAX_REASON} allowed`,
        );
      }
      if (input.suppress && input.verdict !== "benign") {
        throw new FeedbackError(
          "invalid_argument",
          "suppress is only allowed with a benign verdict",
        );
      }
      const alert = await lookup(input.alertId);
      if (alert === undefined) {
        throw new FeedbackError("not_found", `alert ${input.alertId} is not known to this server`);
      }
      log.info(
        { alertId: input.alertId, verdict: input.verdict, reason: input.reason },
        "alert feedback",
      );
      if (!input.suppress) {
        return { alertId: input.alertId, suppressionId: "", suppressionRule: "" };
      }
      const file = options.suppressions;
      if (file === undefined) {
        throw new FeedbackError(
          "failed_precondition",
          "the server has no suppression file (start it with --suppressions FILE)",
        );
      }
      const id = `fb-${input.alertId}`;
      const existing = file.rules().find((r) => r.id === id);
      if (existing !== undefined) {
        return { alertId: input.alertId, suppressionId: id, suppressionRule: "" };
      }
      const rule = ruleFor(alert, id, input, now());
      const line = await file.append(rule);
      log.info({ alertId: input.alertId, suppressionId: id }, "suppression rule added");
      return { alertId: input.alertId, suppressionId: id, suppressionRule: line };
    },
    async close(deadlineMs) {
      for (const g of [...groups.values()]) {
        emit(g);
      }
      await Promise.all(options.outputs.map((o) => o.close(deadlineMs)));
      options.suppressions?.close();
    },
  };
}

/** The rule Feedback adds: the alert's source host, process and destination, exactly. */
function ruleFor(alert: Alert, id: string, input: FeedbackInput, nowMs: number) {
  const p = alert.pattern;
  const event = alert.event as { destDomain?: string };
  const match: Record<string, string> = {};
  if (p.sourceIp !== "") match.source_ip = p.sourceIp;
  if (p.processPath !== "") match.process_path = p.processPath;
  if (p.destination !== "") {
    match[event.destDomain === p.destination ? "dest_domain" : "dest_ip"] = p.destination;
  }
  if (Object.keys(match).length === 0) {
    throw new FeedbackError(
      "failed_precondition",
      `alert ${alert.alertId} has no source, process or destination to match on`,
    );
  }
  return {
    id,
    match,
    reason: input.reason !== "" ? input.reason : `marked benign (alert ${alert.alertId})`,
    ...(input.suppressForSeconds > 0
      ? { expires: new Date(nowMs + input.suppressForSeconds * 1000).toISOString() }
      : {}),
    created: new Date(nowMs).toISOString(),
    alertId: alert.alertId,
  };
}
