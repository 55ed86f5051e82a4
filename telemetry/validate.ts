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
 * Fields an event must carry: at least one field of each group. Every real
 * telemetry source has them: flow records (NetFlow, Zeek conn) carry an
 * address, a port and a protocol but no process; endpoint logs (Sysmon
 * network events) carry an address or host name, a port and a protocol but
 * no byte counts; proxy and DNS logs carry a host name and a port or a
 * protocol. An event without a destination, or without any way it was
 * reached, says nothing a score could be about.
 */
export const REQUIRED_FIELD_GROUPS = [
  ["dest_ip", "dest_domain"],
  ["dest_port", "protocol"],
] as const;

/**
 * Checks one event against every field rule of the contract (the comments on
 * `NetworkEvent` in `proto/netanomaly/v1/telemetry.proto` state the same
 * rules): first each field's own rule, then {@link REQUIRED_FIELD_GROUPS}.
 * Other missing values are allowed: they are scored as missing.
 *
 * @returns the first rule broken, or `undefined` when the event is valid.
 */
export function validateEvent(event: NetworkEvent): EventViolation | undefined {
  // The loop below finds which string is too long; most events have none.
  if (!stringsWithinLimits(event)) {
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
  }
  const badIp = ipViolation("source_ip", event.sourceIp) ?? ipViolation("dest_ip", event.destIp);
  if (badIp !== undefined) return badIp;
  if (event.destPort > 65535) {
    return {
      field: "dest_port",
      rule: "port_range",
      message: `dest_port ${event.destPort} is out of range 0..65535`,
    };
  }
  const badBytes =
    bytesViolation("bytes_sent", event.bytesSent) ?? bytesViolation("bytes_recv", event.bytesRecv);
  if (badBytes !== undefined) return badBytes;
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
  return missingRequired(event);
}

/**
 * Checks {@link REQUIRED_FIELD_GROUPS}: an empty string and a port of 0 are
 * missing (proto3 cannot tell 0 from unset).
 *
 * @returns a violation naming every group the event lacks, or `undefined`.
 */
export function missingRequired(event: NetworkEvent): EventViolation | undefined {
  // The common case first, without the closures below (validation runs per event).
  if (
    (event.destIp !== "" || event.destDomain !== "") &&
    (event.destPort !== 0 || event.protocol !== "")
  )
    return undefined;
  const set: Record<(typeof REQUIRED_FIELD_GROUPS)[number][number], boolean> = {
    dest_ip: event.destIp !== "",
    dest_domain: event.destDomain !== "",
    dest_port: event.destPort !== 0,
    protocol: event.protocol !== "",
  };
  const missing = REQUIRED_FIELD_GROUPS.filter((group) => !group.some((field) => set[field]));
  const first = missing[0];
  if (first === undefined) {
    return undefined;
  }
  const names = missing.map((group) => group.join(" or "));
  return {
    field: first[0],
    rule: "required",
    message:
      names.length === 1
        ? `${names[0]} is required, and the event has neither`
        : `${names.join(", and ")}, are required, and the event has none of them`,
  };
}

/** Whether every string is within {@link STRING_LIMITS}, read field by field (it runs per event). */
function stringsWithinLimits(e: NetworkEvent): boolean {
  const L = STRING_LIMITS;
  return (
    (e.processPath?.length ?? 0) <= L.process_path &&
    (e.processHash?.length ?? 0) <= L.process_hash &&
    (e.destDomain?.length ?? 0) <= L.dest_domain &&
    (e.protocol?.length ?? 0) <= L.protocol &&
    (e.dnsQuery?.length ?? 0) <= L.dns_query &&
    (e.parentProcess?.length ?? 0) <= L.parent_process &&
    (e.userContext?.length ?? 0) <= L.user_context
  );
}

/** The `ip` rule for one address field (written out, not looped: it runs per event). */
function ipViolation(field: "source_ip" | "dest_ip", value: string): EventViolation | undefined {
  if (value === "" || (value.length <= 45 && isIP(value) !== 0)) return undefined;
  return { field, rule: "ip", message: `${field} ${quote(value)} is not an IPv4 or IPv6 address` };
}

/** The `bytes_range` rule for one byte count. */
function bytesViolation(
  field: "bytes_sent" | "bytes_recv",
  value: bigint,
): EventViolation | undefined {
  if (value >= 0n && value <= MAX_BYTES) return undefined;
  return {
    field,
    rule: "bytes_range",
    message: `${field} ${value} is out of range 0..${MAX_BYTES}`,
  };
}

/** Quotes a value for an error message, cut to 64 characters. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
