import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/** The fields the simulator fills in, with numbers where the message has bigints. */
export interface SimEventFields {
  timeMs: number;
  processPath: string;
  processHash: string;
  sourceIp: string;
  destIp: string;
  destDomain: string;
  destPort: number;
  bytesSent: number;
  bytesRecv: number;
  protocol: string;
  dnsQuery: string;
  parentProcess: string;
  userContext: string;
}

/**
 * Builds a `NetworkEvent` as a plain message object, without `create()`:
 * the simulator makes hundreds of thousands per second and every field is
 * set, so the generic initializer's work is not needed. The result is a
 * regular protobuf-es message (`toBinary` and `validateEvent` accept it).
 */
export function simEvent(f: SimEventFields): NetworkEvent {
  const seconds = Math.floor(f.timeMs / 1000);
  return {
    $typeName: "netanomaly.v1.NetworkEvent",
    timestamp: {
      $typeName: "google.protobuf.Timestamp",
      seconds: BigInt(seconds),
      nanos: Math.floor(f.timeMs - seconds * 1000) * 1_000_000,
    },
    processPath: f.processPath,
    processHash: f.processHash,
    sourceIp: f.sourceIp,
    destIp: f.destIp,
    destDomain: f.destDomain,
    destPort: f.destPort,
    bytesSent: BigInt(Math.max(0, Math.round(f.bytesSent))),
    bytesRecv: BigInt(Math.max(0, Math.round(f.bytesRecv))),
    protocol: f.protocol,
    dnsQuery: f.dnsQuery,
    parentProcess: f.parentProcess,
    userContext: f.userContext,
  };
}
