import { readFileSync } from "node:fs";

/**
 * One conversation in a capture: the packets of one (protocol, address:port,
 * address:port) pair in both directions, seen from its initiator (the sender
 * of its first packet; for TCP, of the SYN).
 */
export interface Conversation {
  protocol: "TCP" | "UDP";
  sourceIp: string;
  sourcePort: number;
  destIp: string;
  destPort: number;
  firstMs: number;
  lastMs: number;
  /** IP bytes (headers included, as NetFlow counts octets) initiator → responder. */
  bytesSent: number;
  /** IP bytes responder → initiator. */
  bytesRecv: number;
  packets: number;
}

/** What `readPcap` found, with what it could not read counted. */
export interface Capture {
  conversations: Conversation[];
  packets: number;
  /** Packets that were not IPv4 TCP/UDP (ARP, IPv6, ICMP), or were cut short. */
  skipped: number;
}

const LINKTYPE_ETHERNET = 1;

/**
 * Reads a classic pcap file (as `tcpdump -w` writes it, Ethernet link type,
 * micro- or nanosecond stamps, either byte order) and groups its IPv4
 * TCP/UDP packets into conversations.
 *
 * @throws Error naming the file when it is not a pcap file of Ethernet frames.
 */
export function readPcap(path: string): Capture {
  const buf = readFileSync(path);
  if (buf.length < 24) throw new Error(`${path}: ${buf.length} bytes, too short for a pcap header`);
  const magic = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    le = true;
    nano = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    le = false;
    nano = magic === 0x4d3cb2a1;
  } else {
    throw new Error(`${path}: not a pcap file (magic 0x${magic.toString(16)})`);
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  if (linktype !== LINKTYPE_ETHERNET)
    throw new Error(`${path}: link type ${linktype}, only Ethernet (1) is read`);
  const byKey = new Map<string, Conversation>();
  let packets = 0;
  let skipped = 0;
  let o = 24;
  while (o + 16 <= buf.length) {
    const ms = u32(o) * 1000 + u32(o + 4) / (nano ? 1e6 : 1e3);
    const caplen = u32(o + 8);
    const frame = buf.subarray(o + 16, o + 16 + caplen);
    o += 16 + caplen;
    packets++;
    const p = parseFrame(frame);
    if (p === undefined) {
      skipped++;
      continue;
    }
    const a = `${p.src}:${p.sport}`;
    const b = `${p.dst}:${p.dport}`;
    const key = `${p.protocol} ${a < b ? `${a} ${b}` : `${b} ${a}`}`;
    let c = byKey.get(key);
    if (c === undefined) {
      // A TCP reply seen first (SYN-ACK without its SYN) still names the initiator right.
      const reply = p.protocol === "TCP" && p.syn && p.ack;
      c = {
        protocol: p.protocol,
        sourceIp: reply ? p.dst : p.src,
        sourcePort: reply ? p.dport : p.sport,
        destIp: reply ? p.src : p.dst,
        destPort: reply ? p.sport : p.dport,
        firstMs: ms,
        lastMs: ms,
        bytesSent: 0,
        bytesRecv: 0,
        packets: 0,
      };
      byKey.set(key, c);
    }
    c.lastMs = ms;
    c.packets++;
    if (p.src === c.sourceIp && p.sport === c.sourcePort) c.bytesSent += p.ipLength;
    else c.bytesRecv += p.ipLength;
  }
  if (o !== buf.length) skipped++;
  return { conversations: [...byKey.values()], packets, skipped };
}

interface Packet {
  protocol: "TCP" | "UDP";
  src: string;
  dst: string;
  sport: number;
  dport: number;
  ipLength: number;
  syn: boolean;
  ack: boolean;
}

function parseFrame(f: Buffer): Packet | undefined {
  if (f.length < 14 + 20) return undefined;
  if (f.readUInt16BE(12) !== 0x0800) return undefined; // IPv4 only
  const ip = 14;
  const ihl = ((f[ip] as number) & 0x0f) * 4;
  const proto = f[ip + 9];
  if (proto !== 6 && proto !== 17) return undefined;
  const l4 = ip + ihl;
  if (f.length < l4 + (proto === 6 ? 14 : 8)) return undefined;
  const flags = proto === 6 ? (f[l4 + 13] as number) : 0;
  return {
    protocol: proto === 6 ? "TCP" : "UDP",
    src: addr(f, ip + 12),
    dst: addr(f, ip + 16),
    sport: f.readUInt16BE(l4),
    dport: f.readUInt16BE(l4 + 2),
    ipLength: f.readUInt16BE(ip + 2),
    syn: (flags & 0x02) !== 0,
    ack: (flags & 0x10) !== 0,
  };
}

function addr(f: Buffer, o: number): string {
  return `${f[o]}.${f[o + 1]}.${f[o + 2]}.${f[o + 3]}`;
}
