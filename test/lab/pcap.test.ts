import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readPcap } from "./pcap.js";

const dir = mkdtempSync(join(tmpdir(), "pcap-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An Ethernet frame carrying IPv4 with `payload` bytes after a TCP (20) or UDP (8) header. */
function frame(
  proto: 6 | 17,
  src: number[],
  dst: number[],
  sport: number,
  dport: number,
  flags: number,
  payload: number,
) {
  const l4 = proto === 6 ? 20 : 8;
  const f = Buffer.alloc(14 + 20 + l4 + payload);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(20 + l4 + payload, 16);
  f[23] = proto;
  Buffer.from(src).copy(f, 26);
  Buffer.from(dst).copy(f, 30);
  f.writeUInt16BE(sport, 34);
  f.writeUInt16BE(dport, 36);
  if (proto === 6) f[34 + 13] = flags;
  return f;
}

function pcap(frames: Buffer[], snap = 65535): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(snap, 16);
  header.writeUInt32LE(1, 20);
  const records = frames.map((f, i) => {
    const cut = f.subarray(0, Math.min(f.length, snap));
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(cut.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, cut]);
  });
  return Buffer.concat([header, ...records]);
}

const office = [10, 203, 0, 1];
const server = [10, 203, 0, 2];
const arp = Buffer.alloc(42);
arp.writeUInt16BE(0x0806, 12);

describe("readPcap()", () => {
  it("groups packets into conversations seen from their initiator, with IP bytes each way", () => {
    const path = join(dir, "a.pcap");
    writeFileSync(
      path,
      pcap(
        [
          frame(6, office, server, 40000, 80, 0x02, 0),
          frame(6, server, office, 80, 40000, 0x12, 0),
          frame(6, office, server, 40000, 80, 0x18, 100),
          frame(6, server, office, 80, 40000, 0x18, 1000),
          frame(17, office, server, 50000, 53, 0, 30),
          arp,
        ],
        96,
      ),
    );
    const c = readPcap(path);
    expect(c.packets).toBe(6);
    expect(c.skipped).toBe(1);
    const tcp = c.conversations.find((x) => x.protocol === "TCP");
    expect(tcp).toMatchObject({
      sourceIp: "10.203.0.1",
      sourcePort: 40000,
      destIp: "10.203.0.2",
      destPort: 80,
      bytesSent: 40 + 140,
      bytesRecv: 40 + 1040,
      packets: 4,
    });
    expect(c.conversations.find((x) => x.protocol === "UDP")).toMatchObject({
      destPort: 53,
      bytesSent: 58,
    });
  });

  it("names the client as initiator when the capture starts at the SYN-ACK", () => {
    const path = join(dir, "b.pcap");
    writeFileSync(path, pcap([frame(6, server, office, 22, 41000, 0x12, 0)]));
    expect(readPcap(path).conversations[0]).toMatchObject({ sourceIp: "10.203.0.1", destPort: 22 });
  });

  it("rejects a file that is not a pcap, naming it", () => {
    const path = join(dir, "c.pcap");
    writeFileSync(path, Buffer.alloc(64, 1));
    expect(() => readPcap(path)).toThrow(/c\.pcap: not a pcap file/);
  });
});
