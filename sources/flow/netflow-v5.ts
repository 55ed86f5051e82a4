import { FlowDecodeError, need, readIPv4 } from "./byte-reader.js";
import type { FlowRecord } from "./flow-record.js";

/** Bytes of the NetFlow v5 header and of one flow record (Cisco's v5 export format). */
export const V5_HEADER_BYTES = 24;
export const V5_RECORD_BYTES = 48;
/** Most records a v5 packet carries. */
export const V5_MAX_RECORDS = 30;

/** A decoded NetFlow v5 packet. */
export interface V5Packet {
  /** `flow_sequence`: flows the exporter sent before this packet. */
  sequence: number;
  /** Engine type and id, as the observation domain of the sequence counter. */
  engine: number;
  /** Records the header announced. */
  count: number;
  records: FlowRecord[];
  /** What was wrong with the packet, when not every announced record could be read. */
  problem: string | undefined;
}

/**
 * Decodes a NetFlow v5 packet. The layout is Cisco's fixed one (no RFC):
 * header `version(2) count(2) sys_uptime(4) unix_secs(4) unix_nsecs(4)
 * flow_sequence(4) engine_type(1) engine_id(1) sampling_interval(2)`, then
 * `count` records of 48 bytes: `srcaddr dstaddr nexthop(4 each) input output(2)
 * dPkts dOctets first last(4) srcport dstport(2) pad1 tcp_flags prot tos(1)
 * src_as dst_as(2) src_mask dst_mask(1) pad2(2)`. `first` is sysUpTime at the
 * flow's first packet. Complete records of a truncated packet still come out.
 *
 * @throws FlowDecodeError when the header itself is short or `count` is 0 or above 30.
 */
export function decodeNetflowV5(view: DataView, exporter: string): V5Packet {
  need(view, 0, V5_HEADER_BYTES, "v5 header");
  const count = view.getUint16(2);
  if (count === 0 || count > V5_MAX_RECORDS)
    throw new FlowDecodeError("v5 count", 2, `${count} is outside 1..${V5_MAX_RECORDS}`);
  const sysUptime = view.getUint32(4);
  const exportMs = view.getUint32(8) * 1000 + Math.floor(view.getUint32(12) / 1e6);
  const sequence = view.getUint32(16);
  const engine = view.getUint16(20);
  const fits = Math.floor((view.byteLength - V5_HEADER_BYTES) / V5_RECORD_BYTES);
  const n = Math.min(count, fits);
  const records: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const p = V5_HEADER_BYTES + i * V5_RECORD_BYTES;
    const protocol = view.getUint8(p + 38);
    const destPort = view.getUint16(p + 34);
    const isIcmp = protocol === 1;
    records.push({
      exporter,
      domain: engine,
      protocol,
      sourceIp: readIPv4(view, p),
      destIp: readIPv4(view, p + 4),
      sourcePort: view.getUint16(p + 32),
      // v5 has no ICMP field; exporters put type * 256 + code in dstport.
      destPort: isIcmp ? 0 : destPort,
      icmpTypeCode: isIcmp ? destPort : undefined,
      bytes: BigInt(view.getUint32(p + 20)),
      reverseBytes: undefined,
      startMs: exportMs - ((sysUptime - view.getUint32(p + 24)) | 0),
      endMs: exportMs - ((sysUptime - view.getUint32(p + 28)) | 0),
    });
  }
  const problem =
    n < count
      ? `v5 packet of ${view.byteLength} bytes holds ${n} of the ${count} records its header announces (truncated at byte ${V5_HEADER_BYTES + n * V5_RECORD_BYTES})`
      : undefined;
  return { sequence, engine, count, records, problem };
}
