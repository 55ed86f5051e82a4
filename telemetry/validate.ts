import { isIP } from "node:net";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/**
 * A rule an event broke: which field, which rule, and a message naming the
 * bad value. Messages are lowercase and never echo more than 64 characters
 * of the offending value.
 */
export interface EventViolation {
  field: string;
  rule: string;
  message: string;
}

/** Upper bound on string fields, in UTF-16 code units. */
export const STRING_LIMITS = {
  process_path: 1024,
  process_hash: 128,
  dest_domain: 253,
  protocol: 32,
  dns_query: 1024,
  parent_process: 1024,
  user_context: 256,
} as const;

/** Largest byte count we accept: the largest integer a double holds exactly. */
export const MAX_BYTES = BigInt(Number.MAX_SAFE_INTEGER);

/** Timestamps must fall in [1970-01-01, 2100-01-01). */
export const MAX_TIMESTAMP_SECONDS = 4_102_444_800n;

const stringFields = Object.keys(STRING_LIMITS) as (keyof typeof STRING_LIMITS)[];

const jsonName: Record<string, string> = {
  process_path: "processPath",
  process_hash: "processHash",
  dest_domain: "destDomain",
  protocol: "protocol",
  dns_query: "dnsQuery",
  parent_process: "parentProcess",
  user_context: "userContext",
};

/**
 * Checks one event against every field rule of the contract (the comments on
 * `NetworkEvent` in `proto/netanomaly/v1/telemetry.proto` state the same
 * rules). Missing values are allowed: they are scored as missing.
 *
 * @returns the first rule broken, or `undefined` when the event is valid.
 */
export function validateEvent(event: NetworkEvent): EventViolation | undefined {
  for (const field of stringFields) {
    const value = (event as unknown as Record<string, string>)[jsonName[field] as string] ?? "";
    const limit = STRING_LIMITS[field];
    if (value.length > limit) {
      return {
        field,
        rule: "max_len",
        message: `${field} has ${value.length} characters, at most ${limit} allowed`,
      };
    }
  }
  for (const [field, value] of [
    ["source_ip", event.sourceIp],
    ["dest_ip", event.destIp],
  ] as const) {
    if (value !== "" && (value.length > 45 || isIP(value) === 0)) {
      return {
        field,
        rule: "ip",
        message: `${field} ${quote(value)} is not an IPv4 or IPv6 address`,
      };
    }
  }
  if (event.destPort > 65535) {
    return {
      field: "dest_port",
      rule: "port_range",
      message: `dest_port ${event.destPort} is out of range 0..65535`,
    };
  }
  for (const [field, value] of [
    ["bytes_sent", event.bytesSent],
    ["bytes_recv", event.bytesRecv],
  ] as const) {
    if (value < 0n || value > MAX_BYTES) {
      return {
        field,
        rule: "bytes_range",
        message: `${field} ${value} is out of range 0..${MAX_BYTES}`,
      };
    }
  }
  const ts = event.timestamp;
  if (ts !== undefined) {
    if (
      ts.seconds < 0n ||
      ts.seconds >= MAX_TIMESTAMP_SECONDS ||
      ts.nanos < 0 ||
      ts.nanos > 999_999_999
    ) {
      return {
        field: "timestamp",
        rule: "time_range",
        message: `timestamp ${ts.seconds}s ${ts.nanos}ns is outside 1970-01-01..2100-01-01`,
      };
    }
  }
  return undefined;
}

/** Quotes a value for an error message, cut to 64 characters. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
