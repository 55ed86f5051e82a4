import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DnsParseError, parseDnsMessage } from "./dns-message.js";
import { createPcapReader, type UdpDatagram } from "./pcap-stream.js";

/** The eight DNS datagrams of `testdata/dns.pcap`: dig against dnsmasq, captured by tcpdump. */
function datagrams(): UdpDatagram[] {
  const out: UdpDatagram[] = [];
  const reader = createPcapReader({
    onDatagram: (d) => out.push(d),
    onProblem: (p) => {
      throw new Error(`${p.where}: ${p.message}`);
    },
  });
  reader.push(readFileSync(new URL("./testdata/dns.pcap", import.meta.url)));
  return out;
}

describe("parseDnsMessage()", () => {
  it("reads a query's question name", () => {
    const query = parseDnsMessage((datagrams()[0] as UdpDatagram).payload);
    expect(query).toMatchObject({ response: false, questions: ["office.lab"], answers: [] });
  });

  it("reads A, CNAME and AAAA answers with compressed names", () => {
    const [, a, , cnameAaaa, , cnameA] = datagrams().map((d) => parseDnsMessage(d.payload));
    expect(a?.answers).toEqual([{ name: "office.lab", type: "A", ttl: 0, data: "127.0.0.77" }]);
    expect(cnameAaaa?.questions).toEqual(["www.office.lab"]);
    expect(cnameAaaa?.answers).toEqual([
      { name: "www.office.lab", type: "CNAME", ttl: 0, data: "office.lab" },
      { name: "office.lab", type: "AAAA", ttl: 0, data: "::1" },
    ]);
    expect(cnameA?.answers.map((x) => x.data)).toEqual(["office.lab", "127.0.0.77"]);
  });

  it("reads the response code of a refused query", () => {
    const refused = parseDnsMessage((datagrams()[7] as UdpDatagram).payload);
    expect(refused).toMatchObject({ response: true, rcode: 5, answers: [] });
  });

  it("rejects a short header, a truncated answer and a pointer loop", () => {
    expect(() => parseDnsMessage(new Uint8Array(5))).toThrow(/5 bytes is below the 12-byte header/);
    const answer = (datagrams()[1] as UdpDatagram).payload;
    expect(() => parseDnsMessage(answer.subarray(0, answer.length - 20))).toThrow(DnsParseError);
    const loop = new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(() => parseDnsMessage(loop)).toThrow(/loops through pointers/);
  });
});

describe("createPcapReader()", () => {
  it("decodes UDP over IPv4 and IPv6 from a LINUX_SLL2 capture", () => {
    const all = datagrams();
    expect(all).toHaveLength(8);
    expect(all[0]).toMatchObject({ src: "127.0.0.1", dst: "127.0.0.53", dstPort: 53, length: 51 });
    expect(all[4]).toMatchObject({ src: "::1", dst: "::1", dstPort: 53, length: 55 });
    expect(all[5]).toMatchObject({ src: "::1", srcPort: 53, length: 83 });
  });

  it("gives the same datagrams when the stream arrives a byte at a time", () => {
    const bytes = readFileSync(new URL("./testdata/dns.pcap", import.meta.url));
    const out: UdpDatagram[] = [];
    const reader = createPcapReader({ onDatagram: (d) => out.push(d), onProblem: () => {} });
    for (const byte of bytes) reader.push(new Uint8Array([byte]));
    expect(out.map((d) => [d.src, d.srcPort, d.length])).toEqual(
      datagrams().map((d) => [d.src, d.srcPort, d.length]),
    );
  });

  it("reports a stream that is not pcap once and reads nothing more", () => {
    const problems: string[] = [];
    const reader = createPcapReader({
      onDatagram: () => {},
      onProblem: (p) => problems.push(p.message),
    });
    reader.push(new Uint8Array(48).fill(7));
    reader.push(new Uint8Array(48).fill(7));
    expect(problems).toEqual(["not a pcap stream (magic 0x07070707)"]);
  });

  it("reports a truncated UDP header and keeps the packets around it", () => {
    const bytes = readFileSync(new URL("./testdata/dns.pcap", import.meta.url));
    // Rewrite the first record to 40 captured bytes: SLL2 (20) + IPv4 (20), no UDP header.
    const broken = Buffer.from(bytes);
    const firstLen = broken.readUInt32LE(24 + 8);
    const header = Buffer.from(broken.subarray(24, 40));
    header.writeUInt32LE(40, 8);
    const patched = Buffer.concat([
      broken.subarray(0, 24),
      header,
      broken.subarray(40, 80),
      broken.subarray(40 + firstLen),
    ]);
    const out: UdpDatagram[] = [];
    const problems: string[] = [];
    const reader = createPcapReader({
      onDatagram: (d) => out.push(d),
      onProblem: (p) => problems.push(`${p.where}: ${p.message}`),
    });
    reader.push(patched);
    expect(problems).toEqual(["packet 1: truncated UDP header"]);
    expect(out).toHaveLength(7);
  });
});
