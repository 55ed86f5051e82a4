import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/** Fields a log reader found for one connection; what it leaves out stays empty. */
export interface LogEventFields {
  /** Milliseconds since the epoch; undefined leaves the timestamp unset. */
  timeMs?: number;
  processPath?: string;
  processHash?: string;
  sourceIp?: string;
  destIp?: string;
  destDomain?: string;
  destPort?: number;
  bytesSent?: bigint;
  bytesRecv?: bigint;
  protocol?: string;
  dnsQuery?: string;
  parentProcess?: string;
  userContext?: string;
}

/**
 * Builds a `NetworkEvent` from what a log line gave, as a plain message
 * object (the readers make hundreds of thousands a second; `create()`'s
 * generic initializer is not needed when every field is set here).
 */
export function logEvent(f: LogEventFields): NetworkEvent {
  let timestamp: NetworkEvent["timestamp"];
  if (f.timeMs !== undefined && Number.isFinite(f.timeMs)) {
    const seconds = Math.floor(f.timeMs / 1000);
    timestamp = {
      $typeName: "google.protobuf.Timestamp",
      seconds: BigInt(seconds),
      nanos: Math.min(999_999_999, Math.round((f.timeMs - seconds * 1000) * 1_000_000)),
    };
  }
  return {
    $typeName: "netanomaly.v1.NetworkEvent",
    timestamp,
    processPath: f.processPath ?? "",
    processHash: f.processHash ?? "",
    sourceIp: f.sourceIp ?? "",
    destIp: f.destIp ?? "",
    destDomain: f.destDomain ?? "",
    destPort: f.destPort ?? 0,
    bytesSent: f.bytesSent ?? 0n,
    bytesRecv: f.bytesRecv ?? 0n,
    protocol: f.protocol ?? "",
    dnsQuery: f.dnsQuery ?? "",
    parentProcess: f.parentProcess ?? "",
    userContext: f.userContext ?? "",
  };
}

const TRANSPORTS: Record<string, string> = {
  tcp: "TCP",
  udp: "UDP",
  icmp: "ICMP",
  icmp6: "ICMP",
  icmpv6: "ICMP",
  "ipv6-icmp": "ICMP",
  sctp: "SCTP",
};

/** IANA protocol numbers the readers meet (osquery's `protocol`, Suricata's numeric `proto`). */
const PROTOCOL_NUMBERS: Record<number, string> = {
  1: "ICMP",
  6: "TCP",
  17: "UDP",
  58: "ICMP",
  132: "SCTP",
};

/**
 * A transport name as the telemetry spells it: `TCP`, `UDP`, `ICMP` (v4 and
 * v6 alike, as the simulator does). A number is read as an IANA protocol
 * number; anything else is upper-cased as it is.
 */
export function transportName(value: unknown): string {
  if (typeof value === "number") return PROTOCOL_NUMBERS[value] ?? `IP-${value}`;
  if (typeof value !== "string" || value === "") return "";
  const known = TRANSPORTS[value.toLowerCase()];
  if (known) return known;
  if (/^\d+$/.test(value)) return transportName(Number(value));
  return value.toUpperCase();
}

/** Strips the IPv4-mapped IPv6 prefix (`::ffff:10.0.0.1` → `10.0.0.1`) and a zone (`fe80::1%eth0`). */
export function plainAddress(value: string): string {
  let v = value.trim();
  if (v.length > 7 && v.slice(0, 7).toLowerCase() === "::ffff:" && v.includes(".")) v = v.slice(7);
  const pct = v.indexOf("%");
  return pct > 0 ? v.slice(0, pct) : v;
}

/**
 * A time as the logs write it, in ms since the epoch: a number or numeric
 * string of epoch seconds (Zeek, osquery), an RFC 3339 time with `Z`,
 * `+hh:mm` or Suricata's `+hhmm` offset (`YYYY-MM-DD hh:mm:ss.sss` without
 * an offset, Sysmon's `UtcTime`, is read as UTC), or another form
 * `Date.parse` reads (osquery's `calendarTime`).
 *
 * @returns the time, or undefined when it cannot be read.
 */
export function parseLogTime(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value * 1000 : undefined;
  if (typeof value !== "string" || value === "") return undefined;
  const c = value.charCodeAt(0);
  if (c >= 48 && c <= 57) {
    // Epoch seconds, the common case in Zeek and osquery: `Number` reads
    // them without a regex; an ISO date gives NaN and is read below.
    const n = Number(value);
    if (!Number.isNaN(n)) return n * 1000;
  }
  const fast = parseIsoFast(value);
  if (fast !== undefined) return fast;
  const text = value.trim();
  // A date that `parseIsoFast` refused is no RFC 3339 time (`2023-02-30`,
  // no seconds): Date.parse would roll it over or guess.
  if (/^\d{4}-\d\d-\d\d/.test(text)) return text === value ? undefined : parseLogTime(text);
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A port or byte count as a non-negative integer, or undefined. */
export function parseCount(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > 15) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(value);
}

/** Digits at `s[i..i+n)` as a number, or -1 when any is not a digit. */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * `YYYY-MM-DD[T ]hh:mm:ss[.fff…][Z|±hh[:]mm]` without `Date.parse` (the
 * readers meet it on every line: Suricata's `flow.start`, Sysmon's
 * `UtcTime`). @returns undefined for anything else, which the general path reads.
 */
function parseIsoFast(s: string): number | undefined {
  if (s.length < 19 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined;
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 32) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58)
    return undefined;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
    return undefined;
  if (sec < 0 || sec > 60) return undefined;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    let scale = 100;
    i++;
    const start = i;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      ms += c * scale;
      scale /= 10;
    }
    if (i === start) return undefined;
  }
  let offsetMin = 0;
  if (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 90 /* Z */ && i === s.length - 1) offsetMin = 0;
    else if (c === 43 || c === 45) {
      const rest = s.length - i - 1;
      const oh = digits(s, i + 1, 2);
      const om =
        rest === 4
          ? digits(s, i + 3, 2)
          : rest === 5 && s.charCodeAt(i + 3) === 58
            ? digits(s, i + 4, 2)
            : -1;
      if (oh < 0 || om < 0) return undefined;
      offsetMin = (c === 45 ? -1 : 1) * (oh * 60 + om);
    } else return undefined;
  }
  const t = Date.UTC(y, mo - 1, d, h, mi, sec) + ms;
  if (new Date(t).getUTCDate() !== d) return undefined;
  return t - offsetMin * 60_000;
}
