import type { NetworkEvent } from "../../gen/netanomaly/v1/telemetry_pb.js";
import type { AttackRecord } from "./attacks.js";

/** Label of an event that no attack explains. */
export const NORMAL = "normal";

/** Seconds of slack around an attack's window: a collector stamps an event at close or on poll. */
const WINDOW_SLACK_MS = 5000;

/** @returns the event's timestamp in ms since the epoch, or NaN when it has none. */
export function eventMs(event: NetworkEvent): number {
  const ts = event.timestamp;
  return ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : Number.NaN;
}

/**
 * Labels one collected event from the attacks' ground truth:
 *
 * 1. an event to or from an attack's own office address is that attack (each
 *    attack runs from its own address; this is how flow records, which have
 *    no process, are labelled, and it covers a scanned server's replies);
 * 2. otherwise, an event whose process is an attack's executable that no
 *    office program uses (nmap, the copied binary), inside the attack's time
 *    window, is that attack (for tools that do not bind their socket to the
 *    attack's address);
 * 3. everything else is normal.
 *
 * @param normalPaths executables the office's normal programs run.
 */
export function labelEvent(
  event: NetworkEvent,
  attacks: readonly AttackRecord[],
  normalPaths: ReadonlySet<string>,
): string {
  for (const a of attacks) {
    if (event.sourceIp === a.sourceIp || event.destIp === a.sourceIp) return a.name;
  }
  if (event.processPath !== "" && !normalPaths.has(event.processPath)) {
    const ms = eventMs(event);
    for (const a of attacks) {
      if (event.processPath !== a.processPath) continue;
      if (ms >= a.startMs - WINDOW_SLACK_MS && ms <= a.endMs + WINDOW_SLACK_MS) return a.name;
    }
  }
  return NORMAL;
}

/** Labels every event; see `labelEvent`. */
export function labelAll(
  events: readonly NetworkEvent[],
  attacks: readonly AttackRecord[],
  normalPaths: ReadonlySet<string>,
): string[] {
  return events.map((e) => labelEvent(e, attacks, normalPaths));
}
