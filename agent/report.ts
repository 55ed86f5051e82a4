import type { EventScore } from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import type { Summary } from "./run-agent.js";

/**
 * One human-readable line for an anomalous event: score, process,
 * destination, top feature contributions, and whether it was an injected
 * attack (and which scenario).
 */
export function formatAnomaly(
  event: NetworkEvent,
  score: EventScore,
  label: string | undefined,
): string {
  const dest =
    event.destDomain !== "" ? `${event.destDomain} (${event.destIp})` : event.destIp || "?";
  const top = score.contributions
    .slice(0, 3)
    .map(
      (c) =>
        `${c.feature}=${round(c.value)} (${c.contribution >= 0 ? "+" : ""}${round(c.contribution)} levels)`,
    )
    .join(", ");
  const truth =
    label === undefined
      ? "unlabelled"
      : label === "normal"
        ? "normal traffic (false positive)"
        : `injected ${label}`;
  return (
    `anomaly score=${score.score.toFixed(3)} process=${event.processPath || "?"} ` +
    `dest=${dest}:${event.destPort}/${event.protocol || "?"} ` +
    `sent=${event.bytesSent} recv=${event.bytesRecv} top=[${top}] truth=${truth}`
  );
}

/**
 * Said once before the first anomaly line: what the numbers in it are.
 */
export const ANOMALY_LEGEND =
  "# each flagged event: score (0..1, higher = more anomalous; flagged at or above the model's " +
  "threshold), then its top features as name=value (+levels): value is the feature's value " +
  "for this event (a rarity near 0 = common in training, ~10 = never seen), levels is how " +
  "many tree levels that feature's splits saved in isolating it (more = more anomalous)";

/** The end-of-run summary as a few human-readable lines. */
export function formatSummary(s: Summary): string {
  const pct = (a: number, b: number) => (b === 0 ? "-" : `${((100 * a) / b).toFixed(1)}%`);
  if (s.sink === "kafka") {
    const lines = [
      `published ${s.sent} events to Kafka, acknowledged by the broker; lost ${s.lost}` +
        ` (resent ${s.resent}, reconnects ${s.reconnects}, skipped input ${s.skipped_rows});` +
        ` the scorers (npm run consume) score them`,
      `${s.events_per_s} events/s over ${s.duration_s} s`,
    ];
    if (s.attacks_injected > 0)
      lines.push(`attacks injected ${s.attacks_injected} (labels travel only in this summary)`);
    if (s.fatal !== undefined) lines.push(`stopped early: ${s.fatal}`);
    return lines.join("\n");
  }
  if (s.sent === 0 && s.collected > 0) {
    const lines = [
      `collected ${s.collected} events in ${s.duration_s} s; none sent (--print without --target)`,
    ];
    if (s.skipped_rows > 0) lines.push(skippedLine(s));
    return lines.join("\n");
  }
  const lines = [
    `sent ${s.sent}, scored ${s.scored}, errors ${s.errors}, lost ${s.lost}, duplicates ${s.duplicates}` +
      ` (resent ${s.resent}, reconnects ${s.reconnects}, skipped rows ${s.skipped_rows})`,
    `anomalies flagged ${s.anomalies}, attacks injected ${s.attacks_injected}, attacks caught ${s.attacks_caught}` +
      ` (${pct(s.attacks_caught, s.attacks_injected)}), false positives ${s.false_positives}`,
  ];
  for (const [name, c] of Object.entries(s.per_scenario).sort()) {
    lines.push(`  ${name}: caught ${c.caught} of ${c.injected} (${pct(c.caught, c.injected)})`);
  }
  lines.push(
    `${s.events_per_s} events/s over ${s.duration_s} s, latency p50 ${s.latency_ms.p50} ms, p99 ${s.latency_ms.p99} ms`,
  );
  if (s.false_positives > 0) {
    lines.push(
      `false positives are expected: the model's threshold flags about 1 % of normal traffic by ` +
        `design (trained at --contamination 0.01), so where attacks are rare many flags are ` +
        `normal events; retrain with a lower --contamination, or start the server with a higher ` +
        `--threshold, to trade recall for fewer`,
    );
  }
  if (s.skipped_rows > 0) lines.push(skippedLine(s));
  if (s.fatal !== undefined) lines.push(`stopped early: ${s.fatal}`);
  return lines.join("\n");
}

function skippedLine(s: Summary): string {
  const reasons = Object.entries(s.skipped_by_reason)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([r, n]) => `${n} × ${r}`)
    .join("; ");
  return `skipped input ${s.skipped_rows}: ${reasons}`;
}

function round(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}
