import { createHash } from "node:crypto";
import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Contribution } from "../detector/detector.js";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";

/** An anomalous event as the alerter hears of it. */
export interface AnomalyInput {
  event: NetworkEvent;
  score: number;
  contributions: readonly Contribution[];
  threshold: number;
  modelVersion: string;
}

/** One alert, as every output writes it (one JSON object). */
export interface Alert {
  /** Stable id: the same alert carries it on every output and every retry; `al_` + 24 hex digits. */
  alertId: string;
  /** When the alert was made (ISO 8601). */
  time: string;
  /** The event (the highest-scoring one, when `count` > 1), in protobuf JSON (camelCase fields). */
  event: Record<string, unknown>;
  /** Its anomaly score in (0, 1], higher is more anomalous. */
  score: number;
  threshold: number;
  modelVersion: string;
  /** Top feature contributions of `event`, largest first. */
  contributions: { feature: string; contribution: number; value: number }[];
  /** Anomalies of this pattern folded into this alert (1 without de-duplication). */
  count: number;
  /** Event times (ISO 8601) of the first and last of them, or the receive time for events without one. */
  firstSeen: string;
  lastSeen: string;
  /** What de-duplication compares: source host, process, destination, top features. */
  pattern: AlertPattern;
}

/** The fields that make two anomalies "the same" for de-duplication and for Feedback's rule. */
export interface AlertPattern {
  sourceIp: string;
  processPath: string;
  /** `dest_domain` if the event has one, else `dest_ip`. */
  destination: string;
  destPort: number;
  /** Names of the top 3 contributing features, sorted. */
  topFeatures: string[];
}

/** How many top features take part in the pattern. */
export const PATTERN_FEATURES = 3;

/** The pattern of an anomaly. */
export function patternOf(a: AnomalyInput): AlertPattern {
  const e = a.event;
  return {
    sourceIp: e.sourceIp,
    processPath: e.processPath,
    destination: e.destDomain !== "" ? e.destDomain : e.destIp,
    destPort: e.destPort,
    topFeatures: a.contributions
      .slice(0, PATTERN_FEATURES)
      .map((c) => c.feature)
      .sort(),
  };
}

/**
 * The de-duplication key of a pattern: source host, process, destination
 * and top features. The port is left out, so a scan of many ports from one
 * process to one host is one alert with a count.
 */
export function patternKey(p: AlertPattern): string {
  return JSON.stringify([p.sourceIp, p.processPath, p.destination, p.topFeatures]);
}

/** Event time in ms, or `fallbackMs` for an event without one. */
export function eventTimeMs(event: NetworkEvent, fallbackMs: number): number {
  return event.timestamp === undefined ? fallbackMs : timestampMs(event.timestamp);
}

/**
 * A stable alert id: a hash of the pattern key, the first event's time and
 * the model version, so the same anomaly replayed gives the same id and
 * receivers can drop duplicates of an at-least-once delivery by it.
 */
export function alertIdOf(key: string, firstSeenMs: number, modelVersion: string): string {
  const h = createHash("sha256").update(`${key}\n${firstSeenMs}\n${modelVersion}`).digest("hex");
  return `al_${h.slice(0, 24)}`;
}

/** Builds the alert for `worst` (the highest-scoring anomaly of its group). */
export function buildAlert(
  worst: AnomalyInput,
  group: { key: string; count: number; firstSeenMs: number; lastSeenMs: number; nowMs: number },
): Alert {
  return {
    alertId: alertIdOf(group.key, group.firstSeenMs, worst.modelVersion),
    time: new Date(group.nowMs).toISOString(),
    event: toJson(NetworkEventSchema, worst.event) as Record<string, unknown>,
    score: worst.score,
    threshold: worst.threshold,
    modelVersion: worst.modelVersion,
    contributions: worst.contributions.map((c) => ({
      feature: c.feature,
      contribution: c.contribution,
      value: c.value,
    })),
    count: group.count,
    firstSeen: new Date(group.firstSeenMs).toISOString(),
    lastSeen: new Date(group.lastSeenMs).toISOString(),
    pattern: patternOf(worst),
  };
}
