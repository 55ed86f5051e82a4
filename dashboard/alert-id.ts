import { alertIdOf, eventTimeMs, patternKey, patternOf } from "../alerts/alert.js";
import type { Contribution } from "../detector/detector.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/**
 * The id the alert outputs give the alert `event` opens (`alerts/alert.ts`):
 * its pattern, its event time (`scoredMs` for an event without one) and the
 * model version. Feedback ("mark benign") takes it.
 */
export function alertId(
  event: NetworkEvent,
  contributions: readonly Contribution[],
  modelVersion: string,
  scoredMs: number,
): string {
  const key = patternKey(patternOf({ event, contributions, score: 0, threshold: 0, modelVersion }));
  return alertIdOf(key, eventTimeMs(event, scoredMs), modelVersion);
}
