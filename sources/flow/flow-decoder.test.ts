import { describe, expect, it } from "vitest";
import { createRandom } from "../../detector/random.js";
import type { SourceProblem } from "../source.js";
import {
  encodeIpfixMessage,
  encodeIpfixTemplate,
  encodeRecord,
  encodeSet,
  encodeV5Packet,
  encodeV9Packet,
  encodeV9Template,
  fieldsOf,
} from "./export-packets.js";
import { FlowDecoder } from "./flow-decoder.js";

const T0 = Date.UTC(2026, 11, 7, 6, 0, 0);
const EXPORT_S = T0 / 1000;

/** IPv4 5-tuple, 64-bit bytes, ms timestamps (IANA IEs 8, 12, 7, 11, 4, 1, 152, 153). */
const FLOW4 = fieldsOf([
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [1, 8],
  [152, 8],
  [153, 8],
]);

function flow(src: string, dst: string, sport: number, dport: number, bytes: number) {
  return { 8: src, 12: dst, 7: sport, 11: dport, 4: 6, 1: bytes, 152: T0 - 5000, 153: T0 - 1000 };
}

function decoder() {
  const problems: SourceProblem[] = [];
  const d = new FlowDecoder((p) => problems.push(p), { holdMs: 5000 });
  return { d, problems };
}

function ipfix(sequence: number, sets: Uint8Array[], domain = 7) {
  return encodeIpfixMessage({ exportS: EXPORT_S, sequence, domain }, sets);
}

const template256 = encodeSet(2, encodeIpfixTemplate(256, FLOW4));

describe("FlowDecoder.decode() IPFIX", () => {
  it("decodes a template set and the data records it describes (RFC 7011 §3.4)", () => {
    const { d, problems } = decoder();
    const data = encodeSet(
      256,
      Buffer.concat([
        encodeRecord(FLOW4, flow("10.0.0.1", "10.0.0.2", 40000, 443, 1234)),
        encodeRecord(FLOW4, flow("10.0.0.2", "10.0.0.1", 443, 40000, 99999)),
      ]),
    );
    const out = d.decode(ipfix(0, [template256, data]), "192.0.2.9", 4739, T0);
    expect(problems).toEqual([]);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({
      exporter: "192.0.2.9:4739",
      domain: 7,
      sourceIp: "10.0.0.1",
      destIp: "10.0.0.2",
      sourcePort: 40000,
      destPort: 443,
      protocol: 6,
      bytes: 1234n,
      reverseBytes: undefined,
      startMs: T0 - 5000,
      endMs: T0 - 1000,
    });
    expect(out[1]?.bytes).toBe(99999n);
  });

  it("reads variable-length fields, enterprise fields and RFC 5103 reverse octets", () => {
    const { d, problems } = decoder();
    const fields = fieldsOf([
      [27, 16],
      [28, 16],
      [7, 2],
      [11, 2],
      [4, 1],
      [82, 65535], // interfaceName, variable length (RFC 7011 §7)
      [1, 4], // reduced-size octetDeltaCount (§6.2)
      [1, 8, 29305], // reverseOctetDeltaCount (RFC 5103 §6.1)
      [999, 3, 9], // someone's enterprise element, stepped over
    ]);
    const long = "x".repeat(300); // needs the 3-byte length form
    const records = Buffer.concat([
      encodeRecord(fields, {
        27: "2001:db8::1",
        28: "2001:db8::2",
        7: 50000,
        11: 53,
        4: 17,
        82: "eth0",
        1: 80,
        "29305:1": 200,
        "9:999": 7,
      }),
      encodeRecord(fields, { 27: "::1", 28: "fe80::1:2", 7: 1, 11: 2, 4: 17, 82: long, 1: 5 }),
    ]);
    const msg = ipfix(0, [encodeSet(2, encodeIpfixTemplate(300, fields)), encodeSet(300, records)]);
    const out = d.decode(msg, "192.0.2.9", 4739, T0);
    expect(problems).toEqual([]);
    expect(out.map((r) => [r.sourceIp, r.destIp, r.bytes, r.reverseBytes])).toEqual([
      ["2001:db8::1", "2001:db8::2", 80n, 200n],
      ["::1", "fe80::1:2", 5n, 0n],
    ]);
    // No time fields: the export time stands in.
    expect(out[0]?.startMs).toBe(T0);
  });

  it("skips options templates and their records, using only the exporter's boot time", () => {
    const { d, problems } = decoder();
    // softflowd's layout: flowStart/EndSysUpTime (22, 21) dated by systemInitTimeMilliseconds (160).
    const fields = fieldsOf([
      [8, 4],
      [12, 4],
      [22, 4],
      [21, 4],
      [1, 4],
      [7, 2],
      [11, 2],
      [4, 1],
    ]);
    const opts = fieldsOf([
      [143, 4], // meteringProcessId (scope)
      [160, 8], // systemInitTimeMilliseconds
      [82, 65535],
    ]);
    const boot = T0 - 60_000;
    const msg = ipfix(0, [
      encodeSet(2, encodeIpfixTemplate(1024, fields)),
      encodeSet(3, encodeIpfixTemplate(256, opts, 1)),
      encodeSet(256, encodeRecord(opts, { 143: 1, 160: boot, 82: "lo" })),
      encodeSet(
        1024,
        encodeRecord(fields, {
          8: "127.0.0.1",
          12: "127.0.0.2",
          22: 1000,
          21: 2500,
          1: 528,
          7: 1,
          11: 2,
          4: 17,
        }),
      ),
      // Before boot (a pcap replayed by softflowd -r): the uptime wraps below zero.
      encodeSet(
        1024,
        encodeRecord(fields, {
          8: "127.0.0.1",
          12: "127.0.0.2",
          22: 2 ** 32 - 12_108,
          21: 0,
          1: 1,
          7: 1,
          11: 2,
          4: 17,
        }),
      ),
    ]);
    const out = d.decode(msg, "127.0.0.1", 5000, T0);
    expect(problems).toEqual([]);
    expect(d.stats.optionsRecords).toBe(1);
    expect(out.map((r) => [r.startMs, r.endMs])).toEqual([
      [boot + 1000, boot + 2500],
      [boot - 12_108, boot],
    ]);
  });

  it("holds data for an unknown template and decodes it when the template arrives", () => {
    const { d, problems } = decoder();
    const data = encodeSet(256, encodeRecord(FLOW4, flow("10.0.0.1", "10.0.0.2", 1, 2, 10)));
    expect(d.decode(ipfix(0, [data]), "192.0.2.9", 4739, T0)).toEqual([]);
    expect(d.stats.unknownTemplateSets).toBe(1);
    const out = d.decode(ipfix(1, [template256]), "192.0.2.9", 4739, T0 + 1000);
    expect(out.map((r) => r.bytes)).toEqual([10n]);
    expect(d.stats.heldSetsDecoded).toBe(1);
    expect(problems).toEqual([]);
  });

  it("reports data whose template never arrives, naming exporter, domain and template", () => {
    const { d, problems } = decoder();
    const good = encodeSet(256, encodeRecord(FLOW4, flow("10.0.0.1", "10.0.0.2", 1, 2, 10)));
    const orphan = encodeSet(999, new Uint8Array(40));
    const out = d.decode(ipfix(0, [template256, orphan, good]), "192.0.2.9", 4739, T0);
    expect(out).toHaveLength(1);
    d.expire(T0 + 4999);
    expect(problems).toEqual([]);
    d.expire(T0 + 5000);
    expect(problems).toEqual([
      {
        where: "exporter 192.0.2.9:4739 domain 7",
        message:
          "data set for unknown template 999 (40 bytes) dropped: no template arrived in time",
      },
    ]);
    expect(d.stats.heldSetsDropped).toBe(1);
  });

  it("decodes with the new layout after a template changes mid-stream", () => {
    const { d, problems } = decoder();
    const wider = fieldsOf([...FLOW4.map((f) => [f.id, f.length] as const), [6, 1]]);
    const first = ipfix(0, [
      template256,
      encodeSet(256, encodeRecord(FLOW4, flow("10.0.0.1", "10.0.0.2", 1, 2, 10))),
    ]);
    const second = ipfix(1, [
      encodeSet(2, encodeIpfixTemplate(256, wider)),
      encodeSet(256, encodeRecord(wider, { ...flow("10.0.0.3", "10.0.0.4", 3, 4, 20), 6: 0x12 })),
    ]);
    const a = d.decode(first, "192.0.2.9", 4739, T0);
    const b = d.decode(second, "192.0.2.9", 4739, T0);
    expect([...a, ...b].map((r) => [r.sourceIp, r.bytes])).toEqual([
      ["10.0.0.1", 10n],
      ["10.0.0.3", 20n],
    ]);
    expect(d.stats.templatesChanged).toBe(1);
    expect(problems).toEqual([]);
  });

  it("forgets a withdrawn template (RFC 7011 §8.1) and keeps templates per domain", () => {
    const { d } = decoder();
    d.decode(ipfix(0, [template256]), "192.0.2.9", 4739, T0);
    const data = encodeSet(256, encodeRecord(FLOW4, flow("10.0.0.1", "10.0.0.2", 1, 2, 10)));
    expect(d.decode(ipfix(0, [data], 8), "192.0.2.9", 4739, T0)).toEqual([]); // other domain
    expect(d.decode(ipfix(0, [data]), "192.0.2.9", 4739, T0)).toHaveLength(1);
    const withdrawal = encodeSet(2, Uint8Array.from([1, 0, 0, 0]));
    d.decode(ipfix(1, [withdrawal]), "192.0.2.9", 4739, T0);
    expect(d.stats.templatesWithdrawn).toBe(1);
    expect(d.decode(ipfix(1, [data]), "192.0.2.9", 4739, T0)).toEqual([]);
  });

  it("counts a sequence gap per exporter and domain (RFC 7011 §3.1)", () => {
    const { d, problems } = decoder();
    const data = encodeSet(256, encodeRecord(FLOW4, flow("10.0.0.1", "10.0.0.2", 1, 2, 10)));
    d.decode(ipfix(100, [template256, data]), "192.0.2.9", 4739, T0);
    d.decode(ipfix(101, [data]), "192.0.2.9", 4739, T0); // 100 + 1 record: in order
    d.decode(ipfix(5, [data], 8), "192.0.2.9", 4739, T0); // another domain, its own counter
    d.decode(ipfix(110, [data]), "192.0.2.9", 4739, T0); // 8 records lost
    expect(d.stats.sequenceGaps).toBe(1);
    expect(problems).toEqual([
      {
        where: "exporter 192.0.2.9:4739 domain 7",
        message: "sequence gap: 8 records missing (sequence 110, expected 102)",
      },
    ]);
  });

  it("reports each malformed message and keeps decoding the next ones", () => {
    const { d, problems } = decoder();
    const data = encodeSet(256, encodeRecord(FLOW4, flow("10.0.0.1", "10.0.0.2", 1, 2, 10)));
    const good = ipfix(0, [template256, data]);
    const truncated = good.slice(0, good.length - 7);
    const badSetLength = ipfix(0, [data]);
    new DataView(badSetLength.buffer).setUint16(18, 2); // set length 2 < 4
    const overlong = ipfix(0, [encodeSet(2, Uint8Array.from([1, 0, 0, 3, 0, 8, 0, 4]))]); // 3 fields, 1 given
    const reserved = ipfix(0, [encodeSet(5, new Uint8Array(4))]);
    const outs = [
      good,
      truncated,
      badSetLength,
      overlong,
      reserved,
      Uint8Array.from([0, 10, 0]),
      Uint8Array.from([0, 7]),
    ].map((p) => d.decode(p, "192.0.2.9", 4739, T0).length);
    expect(outs).toEqual([1, 0, 0, 0, 0, 0, 0]);
    expect(problems.map((p) => p.message)).toEqual([
      "IPFIX message length at byte 2: 97 but the datagram has 90 bytes (truncated)",
      "IPFIX set 256 length at byte 18: 2 is below 4",
      "template 256 at byte 20: 3 field specifiers run past the set's end at byte 28",
      "IPFIX set id 5 at byte 16 is reserved (RFC 7011 §3.3.2)",
      "IPFIX message header at byte 0: needs 16 bytes, packet has 3 left",
      "version 7 at byte 0 is not NetFlow v5 (5), v9 (9) or IPFIX (10)",
    ]);
    expect(problems[0]?.where).toBe("exporter 192.0.2.9:4739");
    expect(problems[1]?.where).toBe("exporter 192.0.2.9:4739 domain 7");
    // The good message decodes again after all that.
    expect(d.decode(ipfix(2, [data]), "192.0.2.9", 4739, T0)).toHaveLength(1);
  });
});

describe("FlowDecoder.decode() NetFlow v9", () => {
  const v9 = (sequence: number, sets: Uint8Array[], count = 1) =>
    encodeV9Packet({ count, sysUptimeMs: 100_000, exportS: EXPORT_S, sequence, sourceId: 3 }, sets);
  const fields = fieldsOf([
    [8, 4],
    [12, 4],
    [22, 4], // FIRST_SWITCHED
    [21, 4], // LAST_SWITCHED
    [1, 4],
    [7, 2],
    [11, 2],
    [4, 1],
  ]);
  const rec = (bytes: number) =>
    encodeRecord(fields, {
      8: "10.1.1.1",
      12: "10.2.2.2",
      22: 90_000,
      21: 99_000,
      1: bytes,
      7: 33000,
      11: 80,
      4: 6,
    });

  it("decodes template and data FlowSets, dating flows by sysUpTime (RFC 3954 §5.1, §5.4)", () => {
    const { d, problems } = decoder();
    const out = d.decode(
      v9(
        1,
        [
          encodeSet(0, encodeV9Template(260, fields)),
          encodeSet(260, Buffer.concat([rec(500), rec(600), new Uint8Array(3)])),
        ],
        3,
      ),
      "192.0.2.1",
      2055,
      T0,
    );
    expect(problems).toEqual([]);
    expect(
      out.map((r) => [r.sourceIp, r.destIp, r.destPort, r.bytes, r.startMs, r.endMs, r.domain]),
    ).toEqual([
      ["10.1.1.1", "10.2.2.2", 80, 500n, T0 - 10_000, T0 - 1000, 3],
      ["10.1.1.1", "10.2.2.2", 80, 600n, T0 - 10_000, T0 - 1000, 3],
    ]);
  });

  it("counts missing packets in the sequence and skips a FlowSet past the end", () => {
    const { d, problems } = decoder();
    d.decode(v9(1, [encodeSet(0, encodeV9Template(260, fields))]), "192.0.2.1", 2055, T0);
    const cut = v9(4, [encodeSet(260, rec(1))]).slice(0, 30);
    expect(d.decode(cut, "192.0.2.1", 2055, T0)).toEqual([]);
    expect(problems.map((p) => p.message)).toEqual([
      "sequence gap: 2 packets missing (sequence 4, expected 2)",
      "v9 FlowSet 260 length at byte 22: 29 runs past the packet's 30 bytes",
    ]);
    expect(problems[1]?.where).toBe("exporter 192.0.2.1:2055 domain 3");
  });
});

describe("FlowDecoder.decode() NetFlow v5", () => {
  const f = {
    src: "10.0.0.1",
    dst: "10.0.0.2",
    sport: 40000,
    dport: 22,
    proto: 6,
    bytes: 4000,
    packets: 9,
    first: 50_000,
    last: 59_000,
  };

  it("decodes the fixed layout and dates flows by sysUpTime", () => {
    const { d, problems } = decoder();
    const out = d.decode(
      encodeV5Packet({ sysUptimeMs: 60_000, exportS: EXPORT_S, sequence: 0 }, [
        f,
        { ...f, sport: 40001 },
      ]),
      "192.0.2.5",
      9995,
      T0,
    );
    expect(problems).toEqual([]);
    expect(out.map((r) => [r.sourcePort, r.destPort, r.bytes, r.startMs, r.endMs])).toEqual([
      [40000, 22, 4000n, T0 - 10_000, T0 - 1000],
      [40001, 22, 4000n, T0 - 10_000, T0 - 1000],
    ]);
  });

  it("keeps the whole records of a truncated packet and counts flows missing from the sequence", () => {
    const { d, problems } = decoder();
    d.decode(
      encodeV5Packet({ sysUptimeMs: 60_000, exportS: EXPORT_S, sequence: 0 }, [f]),
      "192.0.2.5",
      9995,
      T0,
    );
    const p = encodeV5Packet({ sysUptimeMs: 60_000, exportS: EXPORT_S, sequence: 3 }, [f, f, f]);
    expect(d.decode(p.slice(0, 24 + 48 * 2 + 10), "192.0.2.5", 9995, T0)).toHaveLength(2);
    expect(problems.map((x) => x.message)).toEqual([
      "v5 packet of 130 bytes holds 2 of the 3 records its header announces (truncated at byte 120)",
      "sequence gap: 2 flows missing (sequence 3, expected 1)",
    ]);
    const zero = encodeV5Packet({ sysUptimeMs: 0, exportS: 0, sequence: 0 }, []);
    expect(d.decode(zero, "192.0.2.5", 9995, T0)).toEqual([]);
    expect(problems[2]?.message).toBe("v5 count at byte 2: 0 is outside 1..30");
  });
});

describe("FlowDecoder.decode() on damaged packets", () => {
  it("never throws on 20,000 seeded bit flips and truncations of good packets", () => {
    const ipfixGood = ipfix(0, [
      template256,
      encodeSet(
        3,
        encodeIpfixTemplate(
          257,
          fieldsOf([
            [143, 4],
            [160, 8],
            [82, 65535],
          ]),
          1,
        ),
      ),
      encodeSet(256, encodeRecord(FLOW4, flow("10.0.0.1", "10.0.0.2", 1, 2, 10))),
    ]);
    const v9Good = encodeV9Packet(
      { count: 2, sysUptimeMs: 5, exportS: EXPORT_S, sequence: 1, sourceId: 0 },
      [
        encodeSet(0, encodeV9Template(260, FLOW4)),
        encodeSet(260, encodeRecord(FLOW4, flow("10.0.0.1", "10.0.0.2", 1, 2, 10))),
      ],
    );
    const rnd = createRandom(7);
    const { d, problems } = decoder();
    let records = 0;
    for (let i = 0; i < 20_000; i++) {
      const p = (i % 2 === 0 ? ipfixGood : v9Good).slice();
      for (let f = rnd.int(4); f >= 0; f--) {
        const bit = rnd.int(p.length * 8);
        p[bit >> 3] = (p[bit >> 3] as number) ^ (1 << (bit & 7));
      }
      const cut = rnd.int(4) === 0 ? rnd.int(p.length) : p.length;
      records += d.decode(p.subarray(0, cut), "192.0.2.9", 4000 + (i % 50), T0 + i).length;
    }
    d.expire(T0 + 20_000, true);
    expect(problems.length).toBeGreaterThan(1000);
    expect(records).toBeGreaterThan(1000); // flips in values still give records
  });
});
