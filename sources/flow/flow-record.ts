/**
 * One flow record as every exporter version decodes to it: one direction of
 * a connection (or both, for an RFC 5103 biflow), in the collector's own
 * terms. Addresses are text (`10.0.0.1`, `::1`); byte counts are `bigint`
 * because IPFIX counters are 64-bit.
 */
export interface FlowRecord {
  /** Exporter address and port the packet came from, `10.0.0.1:50000`. */
  exporter: string;
  /** NetFlow v9 Source ID or IPFIX Observation Domain ID; 0 for v5. */
  domain: number;
  /** IANA protocol number (6 TCP, 17 UDP, 1 ICMP, 58 IPv6-ICMP). */
  protocol: number;
  sourceIp: string;
  destIp: string;
  sourcePort: number;
  destPort: number;
  /** ICMP type and code as `type * 256 + code`, when the flow is ICMP and the exporter said. */
  icmpTypeCode: number | undefined;
  /** Bytes from source to destination, IP headers included (as exporters count them). */
  bytes: bigint;
  /** Bytes from destination to source when the record is an RFC 5103 biflow; otherwise undefined. */
  reverseBytes: bigint | undefined;
  /** First packet of the flow, ms since the epoch. */
  startMs: number;
  /** Last packet of the flow, ms since the epoch. */
  endMs: number;
}

/** Where a problem with a packet from an exporter is, the way a person finds it again. */
export function whereOf(exporter: string, domain?: number): string {
  return domain === undefined ? `exporter ${exporter}` : `exporter ${exporter} domain ${domain}`;
}
