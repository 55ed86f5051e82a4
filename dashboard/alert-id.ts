import { createHash } from "node:crypto";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/**
 * The stable id of an anomaly's pattern: the first 16 hex digits of a
 * SHA-256 over the event's process path, source address, destination
 * (address, else domain), destination port, protocol (lower case) and the
 * name of its top contribution. Repeats of one behaviour share it.
 */
export function alertId(event: NetworkEvent, topFeature: string | undefined): string {
  const parts = [
    event.processPath,
    event.sourceIp,
    event.destIp === "" ? event.destDomain : event.destIp,
    String(event.destPort),
    event.protocol.toLowerCase(),
    topFeature ?? "",
  ];
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 16);
}
