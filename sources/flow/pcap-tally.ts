import { readFile } from "node:fs/promises";

/** One direction of one TCP or UDP conversation in a capture. */
export interface DirectionTally {
  packets: number;
  /** IP bytes: the IPv4 total length of every packet, headers included (what exporters count). */
  ipBytes: number;
  /** TCP or UDP payload bytes. */
  payload: number;
}

/** `src|sport|dst|dport|proto` of a direction. */
export function directionKey(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  proto: number,
) {
  return `${src}|${sport}|${dst}|${dport}|${proto}`;
}

/**
 * Tallies the IPv4 TCP and UDP packets of a classic pcap file (the format
 * `tcpdump -w` writes: a 24-byte file header, then a 16-byte header per
 * packet) by direction. Linktype 1 (Ethernet, as `tcpdump -i lo` writes) only.
 * It is the ground truth an exporter's byte counts are checked against.
 */
export async function tallyPcap(path: string): Promise<Map<string, DirectionTally>> {
  const buf = await readFile(path);
  const out = new Map<string, DirectionTally>();
  if (buf.length < 24) return out;
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error(`${path}: not a pcap file (magic ${magic.toString(16)})`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  if (linktype !== 1) throw new Error(`${path}: linktype ${linktype}, only Ethernet (1) is read`);
  for (let p = 24; p + 16 <= buf.length; ) {
    const caplen = u32(p + 8);
    const frame = p + 16;
    p = frame + caplen;
    if (p > buf.length) break; // the last packet is still being written
    if (caplen < 34 || buf.readUInt16BE(frame + 12) !== 0x0800) continue;
    const ip = frame + 14;
    const ihl = ((buf[ip] as number) & 0x0f) * 4;
    const total = buf.readUInt16BE(ip + 2);
    const proto = buf[ip + 9] as number;
    if (proto !== 6 && proto !== 17) continue;
    const l4 = ip + ihl;
    const header = proto === 6 ? ((buf[l4 + 12] as number) >> 4) * 4 : 8;
    const src = [...buf.subarray(ip + 12, ip + 16)].join(".");
    const dst = [...buf.subarray(ip + 16, ip + 20)].join(".");
    const key = directionKey(src, buf.readUInt16BE(l4), dst, buf.readUInt16BE(l4 + 2), proto);
    const t = out.get(key) ?? { packets: 0, ipBytes: 0, payload: 0 };
    t.packets++;
    t.ipBytes += total;
    t.payload += total - ihl - header;
    out.set(key, t);
  }
  return out;
}
