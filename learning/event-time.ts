import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/**
 * An event's time in ms since the epoch, or `fallbackMs` when it carries no
 * timestamp. The learner's windows run on event time, so a replayed or
 * simulated stream learns the same way as a live one.
 */
export function eventTimeMs(event: NetworkEvent, fallbackMs: number): number {
  const t = event.timestamp;
  if (t === undefined) return fallbackMs;
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
}
