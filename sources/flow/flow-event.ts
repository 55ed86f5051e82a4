import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type NetworkEvent, NetworkEventSchema } from "../../gen/netanomaly/v1/telemetry_pb.js";
import type { Connection } from "./pair-flows.js";

/** IANA protocol numbers with the names the model knows; others go out as the number. */
const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "ICMP"],
  [6, "TCP"],
  [17, "UDP"],
  // IPv6-ICMP: the same role as ICMP for the model.
  [58, "ICMP"],
]);

/** `TCP`, `UDP`, `ICMP`, or the IANA protocol number as text (`47`). */
export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES.get(protocol) ?? String(protocol);
}

/**
 * A connection as a `NetworkEvent`: timestamp, addresses, the responder's
 * port, bytes each way and protocol. Flows say nothing of processes, users
 * or names, so those fields stay empty.
 */
export function connectionEvent(c: Connection): NetworkEvent {
  return create(NetworkEventSchema, {
    timestamp: timestampFromMs(c.startMs),
    sourceIp: c.initiatorIp,
    destIp: c.responderIp,
    destPort: c.responderPort,
    bytesSent: c.bytesSent,
    bytesRecv: c.bytesRecv,
    protocol: protocolName(c.protocol),
  });
}
