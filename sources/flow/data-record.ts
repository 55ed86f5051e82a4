import { readIPv4, readIPv6, readUnsigned } from "./byte-reader.js";
import type { Template } from "./templates.js";

/**
 * IANA IPFIX Information Element numbers the collector reads
 * (https://www.iana.org/assignments/ipfix; numbers 1–127 are also the
 * NetFlow v9 field types of RFC 3954 §8, so one table serves both).
 */
export const IE = {
  octetDeltaCount: 1,
  protocolIdentifier: 4,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  flowEndSysUpTime: 21,
  flowStartSysUpTime: 22,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  icmpTypeCodeIPv4: 32,
  octetTotalCount: 85,
  icmpTypeCodeIPv6: 139,
  flowStartSeconds: 150,
  flowEndSeconds: 151,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  flowStartMicroseconds: 154,
  flowEndMicroseconds: 155,
  flowStartNanoseconds: 156,
  flowEndNanoseconds: 157,
  systemInitTimeMilliseconds: 160,
  initiatorOctets: 231,
  responderOctets: 232,
} as const;

/** RFC 5103 §6.1: reverse elements are the forward numbers under this Private Enterprise Number. */
export const REVERSE_PEN = 29305;

/** RFC 7011 §7: a template field length of 65535 means the length is sent with each value. */
export const VARIABLE_LENGTH = 65535;

/** What a message header tells about time, for turning relative flow times into absolute ones. */
export interface TimeBase {
  /** Export time of the message, ms since the epoch. */
  exportMs: number;
  /** NetFlow v5/v9: the exporter's uptime at export, ms (RFC 3954 §5.1 sysUpTime). */
  sysUptimeMs: number | undefined;
  /** IPFIX: the exporter's boot time, ms since the epoch, from an options record (IE 160). */
  systemInitMs: number | undefined;
}

/** The values of one data record that a flow needs; absent ones stay undefined. */
export interface RecordValues {
  protocol: number | undefined;
  sourceIp: string | undefined;
  destIp: string | undefined;
  sourcePort: number;
  destPort: number;
  icmpTypeCode: number | undefined;
  bytes: bigint | undefined;
  totalBytes: bigint | undefined;
  reverseBytes: bigint | undefined;
  initiatorBytes: bigint | undefined;
  responderBytes: bigint | undefined;
  startMs: number | undefined;
  endMs: number | undefined;
  startUptime: number | undefined;
  endUptime: number | undefined;
  systemInitMs: number | undefined;
}

/** A fresh, empty {@link RecordValues}. */
export function emptyValues(): RecordValues {
  return {
    protocol: undefined,
    sourceIp: undefined,
    destIp: undefined,
    sourcePort: 0,
    destPort: 0,
    icmpTypeCode: undefined,
    bytes: undefined,
    totalBytes: undefined,
    reverseBytes: undefined,
    initiatorBytes: undefined,
    responderBytes: undefined,
    startMs: undefined,
    endMs: undefined,
    startUptime: undefined,
    endUptime: undefined,
    systemInitMs: undefined,
  };
}

/**
 * Decodes one data record laid out by `template` at `offset` (RFC 7011 §3.4.3,
 * RFC 3954 §5.4). Fields the collector does not use, and enterprise-specific
 * fields other than RFC 5103's reverse ones, are stepped over.
 *
 * @returns the record's length in bytes, or -1 when it does not fit before `end`
 *   (the rest of the set is padding or truncated; the caller decides which).
 */
export function decodeDataRecord(
  view: DataView,
  offset: number,
  end: number,
  template: Template,
  out: RecordValues,
): number {
  let p = offset;
  for (const f of template.fields) {
    let length = f.length;
    if (length === VARIABLE_LENGTH) {
      // RFC 7011 §7: one length byte, or 255 then a two-byte length.
      if (p + 1 > end) return -1;
      length = view.getUint8(p);
      p += 1;
      if (length === 255) {
        if (p + 2 > end) return -1;
        length = view.getUint16(p);
        p += 2;
      }
    }
    if (p + length > end) return -1;
    if (f.enterprise === 0) readForward(view, p, f.id, length, out);
    else if (f.enterprise === REVERSE_PEN && f.id === IE.octetDeltaCount && length <= 8)
      out.reverseBytes = readUnsigned(view, p, length);
    p += length;
  }
  return p - offset;
}

function readForward(view: DataView, p: number, id: number, length: number, out: RecordValues) {
  switch (id) {
    case IE.octetDeltaCount:
      if (length <= 8) out.bytes = readUnsigned(view, p, length);
      break;
    case IE.octetTotalCount:
      if (length <= 8) out.totalBytes = readUnsigned(view, p, length);
      break;
    case IE.initiatorOctets:
      if (length <= 8) out.initiatorBytes = readUnsigned(view, p, length);
      break;
    case IE.responderOctets:
      if (length <= 8) out.responderBytes = readUnsigned(view, p, length);
      break;
    case IE.protocolIdentifier:
      if (length === 1) out.protocol = view.getUint8(p);
      break;
    case IE.sourceTransportPort:
      if (length === 2) out.sourcePort = view.getUint16(p);
      break;
    case IE.destinationTransportPort:
      if (length === 2) out.destPort = view.getUint16(p);
      break;
    case IE.sourceIPv4Address:
      if (length === 4) out.sourceIp = readIPv4(view, p);
      break;
    case IE.destinationIPv4Address:
      if (length === 4) out.destIp = readIPv4(view, p);
      break;
    case IE.sourceIPv6Address:
      if (length === 16) out.sourceIp = readIPv6(view, p);
      break;
    case IE.destinationIPv6Address:
      if (length === 16) out.destIp = readIPv6(view, p);
      break;
    case IE.icmpTypeCodeIPv4:
    case IE.icmpTypeCodeIPv6:
      if (length === 2) out.icmpTypeCode = view.getUint16(p);
      break;
    case IE.flowStartSysUpTime:
      if (length === 4) out.startUptime = view.getUint32(p);
      break;
    case IE.flowEndSysUpTime:
      if (length === 4) out.endUptime = view.getUint32(p);
      break;
    case IE.flowStartSeconds:
      if (length === 4) out.startMs = view.getUint32(p) * 1000;
      break;
    case IE.flowEndSeconds:
      if (length === 4) out.endMs = view.getUint32(p) * 1000;
      break;
    case IE.flowStartMilliseconds:
      if (length <= 8) out.startMs = Number(readUnsigned(view, p, length));
      break;
    case IE.flowEndMilliseconds:
      if (length <= 8) out.endMs = Number(readUnsigned(view, p, length));
      break;
    case IE.flowStartMicroseconds:
    case IE.flowStartNanoseconds:
      if (length === 8) out.startMs = ntpMs(view, p);
      break;
    case IE.flowEndMicroseconds:
    case IE.flowEndNanoseconds:
      if (length === 8) out.endMs = ntpMs(view, p);
      break;
    case IE.systemInitTimeMilliseconds:
      if (length <= 8) out.systemInitMs = Number(readUnsigned(view, p, length));
      break;
    default:
      break;
  }
}

/** Seconds between the NTP era (1900) and the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** RFC 7011 §6.1.9: dateTimeMicroseconds/Nanoseconds are NTP timestamps (seconds since 1900, fraction). */
function ntpMs(view: DataView, p: number): number {
  const seconds = view.getUint32(p) - NTP_UNIX_OFFSET_S;
  return seconds * 1000 + Math.floor((view.getUint32(p + 4) / 2 ** 32) * 1000);
}

/**
 * Turns a flow's relative times into ms since the epoch.
 *
 * NetFlow v5/v9 (RFC 3954 §5.1): a sysUpTime of the first packet is
 * `exportMs - (sysUptime - first)`, the difference taken in signed 32-bit
 * arithmetic so an uptime that wrapped (or a pcap replay older than the
 * exporter's start, as softflowd -r sends) stays right. IPFIX: sysUpTime
 * fields count from the boot time an options record carried (IE 160); the
 * candidate nearest the export time is taken modulo 2^32 ms.
 */
export function absoluteMs(uptime: number, base: TimeBase): number | undefined {
  if (base.sysUptimeMs !== undefined) return base.exportMs - ((base.sysUptimeMs - uptime) | 0);
  if (base.systemInitMs !== undefined) {
    let t = base.systemInitMs + uptime;
    while (t > base.exportMs + 2 ** 31) t -= 2 ** 32;
    return t;
  }
  return undefined;
}
