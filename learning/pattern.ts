import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/**
 * The pattern the guard counts hosts for: process × destination, as
 * `process_path|destination:port` where the destination is the domain when
 * the event names one (a service that moves addresses keeps its pattern),
 * else the address.
 */
export function patternOf(event: NetworkEvent): string {
  const dest = event.destDomain !== "" ? event.destDomain : event.destIp;
  return `${event.processPath}|${dest}:${event.destPort}`;
}
