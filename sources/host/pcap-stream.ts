/**
 * An incremental reader of the classic pcap file format (as `tcpdump -w -`
 * writes it: a 24-byte global header, then a 16-byte header per packet) and a
 * decoder of the UDP datagrams in it, over the link types a Linux capture
 * produces: LINUX_SLL2 (276, `-i any` with `-y LINUX_SLL2`), LINUX_SLL (113,
 * `-i any`), EN10MB (1), RAW (101, 12, 14) and NULL (0).
 *
 * @see https://www.tcpdump.org/manpages/pcap-savefile.5.html
 * @see https://www.tcpdump.org/linktypes.html
 */

/** One UDP datagram off the wire. */
export interface UdpDatagram {
  /** Capture time, ms since the epoch. */
  timeMs: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** UDP payload length from the UDP header (bytes the application sent). */
  length: number;
  /** The captured part of the payload (all of it with `-s 0`). */
  payload: Uint8Array;
}

/** A packet or header the reader could not use. */
export interface PcapProblem {
  /** `packet N` (1-based) or `header`. */
  where: string;
  message: string;
}

/** Callbacks of {@link createPcapReader}. */
export interface PcapReaderHandlers {
  onDatagram(datagram: UdpDatagram): void;
  onProblem(problem: PcapProblem): void;
}

/** Feeds chunks of a pcap stream; decodes every complete packet. */
export interface PcapReader {
  push(chunk: Uint8Array): void;
  /** Packets read so far. */
  readonly packets: number;
}

const MAX_RECORD = 262_144 + 16;

/**
 * Creates a reader. A global header with an unknown magic number is fatal
 * (the stream is not pcap) and reported once; a packet that is not UDP over
 * IPv4/IPv6, or is truncated, is reported and skipped.
 */
export function createPcapReader(handlers: PcapReaderHandlers): PcapReader {
  let buffer: Buffer = Buffer.alloc(0);
  let little = true;
  let nanos = false;
  let linkType = -1;
  let packets = 0;
  let dead = false;
  return {
    get packets() {
      return packets;
    },
    push(chunk) {
      if (dead) return;
      buffer = buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffer, chunk]);
      if (linkType < 0) {
        if (buffer.length < 24) return;
        const magic = buffer.readUInt32LE(0);
        if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = true;
        else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = false;
        else {
          dead = true;
          handlers.onProblem({
            where: "header",
            message: `not a pcap stream (magic ${hex(magic)})`,
          });
          return;
        }
        nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
        linkType = (little ? buffer.readUInt32LE(20) : buffer.readUInt32BE(20)) & 0x0fff_ffff;
        buffer = buffer.subarray(24);
      }
      let at = 0;
      while (buffer.length - at >= 16) {
        const u32 = (o: number) =>
          little ? buffer.readUInt32LE(at + o) : buffer.readUInt32BE(at + o);
        const capLen = u32(8);
        if (capLen > MAX_RECORD) {
          dead = true;
          handlers.onProblem({
            where: `packet ${packets + 1}`,
            message: `record length ${capLen} is past the largest snapshot; stream abandoned`,
          });
          return;
        }
        if (buffer.length - at < 16 + capLen) break;
        packets++;
        const timeMs = u32(0) * 1000 + (nanos ? u32(4) / 1e6 : u32(4) / 1e3);
        const frame = buffer.subarray(at + 16, at + 16 + capLen);
        at += 16 + capLen;
        const result = decodeFrame(linkType, frame, timeMs);
        if (typeof result === "string") {
          handlers.onProblem({ where: `packet ${packets}`, message: result });
        } else if (result !== undefined) {
          handlers.onDatagram(result);
        }
      }
      buffer = buffer.subarray(at);
    },
  };
}

/**
 * Decodes one link-layer frame down to UDP.
 *
 * @returns the datagram, undefined for a packet that is not UDP (not an
 *   error: a capture filter may let other packets through), or a message.
 */
export function decodeFrame(
  linkType: number,
  frame: Uint8Array,
  timeMs: number,
): UdpDatagram | string | undefined {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let at: number;
  let etherType: number;
  switch (linkType) {
    case 276: // LINUX_SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
      if (frame.length < 20) return "truncated LINUX_SLL2 header";
      etherType = view.getUint16(0);
      at = 20;
      break;
    case 113: // LINUX_SLL: pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
      if (frame.length < 16) return "truncated LINUX_SLL header";
      etherType = view.getUint16(14);
      at = 16;
      break;
    case 1: {
      if (frame.length < 14) return "truncated Ethernet header";
      at = 12;
      etherType = view.getUint16(at);
      at += 2;
      while (etherType === 0x8100 || etherType === 0x88a8) {
        if (frame.length < at + 4) return "truncated VLAN tag";
        etherType = view.getUint16(at + 2);
        at += 4;
      }
      break;
    }
    case 0: // NULL: 4-byte address family in host order
      if (frame.length < 4) return "truncated NULL header";
      etherType = frame[0] === 2 || frame[3] === 2 ? 0x0800 : 0x86dd;
      at = 4;
      break;
    case 12:
    case 14:
    case 101:
      if (frame.length < 1) return "empty RAW frame";
      etherType = (frame[0] as number) >> 4 === 6 ? 0x86dd : 0x0800;
      at = 0;
      break;
    default:
      return `link type ${linkType} is not supported`;
  }
  let src: string;
  let dst: string;
  if (etherType === 0x0800) {
    if (frame.length < at + 20) return "truncated IPv4 header";
    const ihl = ((frame[at] as number) & 0x0f) * 4;
    if (ihl < 20 || frame.length < at + ihl) return "bad IPv4 header length";
    if (frame[at + 9] !== 17) return undefined;
    // A later fragment carries no UDP header.
    if ((view.getUint16(at + 6) & 0x1fff) !== 0) return undefined;
    src = frame.subarray(at + 12, at + 16).join(".");
    dst = frame.subarray(at + 16, at + 20).join(".");
    at += ihl;
  } else if (etherType === 0x86dd) {
    if (frame.length < at + 40) return "truncated IPv6 header";
    // Extension headers before UDP are rare for DNS; such packets are skipped.
    if (frame[at + 6] !== 17) return undefined;
    src = ipv6(frame.subarray(at + 8, at + 24));
    dst = ipv6(frame.subarray(at + 24, at + 40));
    at += 40;
  } else {
    return undefined;
  }
  if (frame.length < at + 8) return "truncated UDP header";
  const udpLength = view.getUint16(at + 4);
  if (udpLength < 8) return `UDP length ${udpLength} is below the header's 8 bytes`;
  return {
    timeMs,
    src,
    dst,
    srcPort: view.getUint16(at),
    dstPort: view.getUint16(at + 2),
    length: udpLength - 8,
    payload: frame.subarray(at + 8, Math.min(frame.length, at + udpLength)),
  };
}

/** Formats 16 bytes as an RFC 5952 IPv6 address (longest zero run as `::`). */
export function ipv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  if (groups.slice(0, 6).every((g, i) => (i < 5 ? g === 0 : g === 0xffff))) {
    return `::ffff:${bytes.subarray(12).join(".")}`;
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hexes.join(":");
  return `${hexes.slice(0, bestAt).join(":")}::${hexes.slice(bestAt + bestLen).join(":")}`;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
