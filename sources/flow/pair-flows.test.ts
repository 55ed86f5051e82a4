import { describe, expect, it } from "vitest";
import type { FlowRecord } from "./flow-record.js";
import { type Connection, FlowPairer } from "./pair-flows.js";

function rec(over: Partial<FlowRecord>): FlowRecord {
  return {
    exporter: "192.0.2.1:2055",
    domain: 0,
    protocol: 6,
    sourceIp: "10.0.0.1",
    destIp: "10.0.0.2",
    sourcePort: 40000,
    destPort: 443,
    icmpTypeCode: undefined,
    bytes: 100n,
    reverseBytes: undefined,
    startMs: 1000,
    endMs: 2000,
    ...over,
  };
}

const reverse = (r: FlowRecord, bytes: bigint, over: Partial<FlowRecord> = {}): FlowRecord => ({
  ...r,
  sourceIp: r.destIp,
  destIp: r.sourceIp,
  sourcePort: r.destPort,
  destPort: r.sourcePort,
  bytes,
  ...over,
});

function pairer(options = {}) {
  const out: Connection[] = [];
  return { p: new FlowPairer((c) => out.push(c), options), out };
}

describe("FlowPairer.add()", () => {
  it("joins the two directions into one connection seen from the initiator", () => {
    const { p, out } = pairer();
    const req = rec({ bytes: 380n });
    // The response arrives first: the ports still say who called whom.
    p.add(reverse(req, 100_471n), 0);
    p.add(req, 0);
    expect(out).toEqual([
      {
        startMs: 1000,
        protocol: 6,
        initiatorIp: "10.0.0.1",
        responderIp: "10.0.0.2",
        responderPort: 443,
        bytesSent: 380n,
        bytesRecv: 100_471n,
        kind: "paired",
      },
    ]);
    expect(p.pending).toBe(0);
  });

  it("takes the earlier flow as initiator when the ports do not say", () => {
    const { p, out } = pairer();
    const a = rec({ sourcePort: 40000, destPort: 50000, startMs: 1005 });
    p.add(a, 0);
    p.add(reverse(a, 7n, { startMs: 1000 }), 0);
    expect(out[0]).toMatchObject({
      initiatorIp: "10.0.0.2",
      responderPort: 40000,
      bytesSent: 7n,
      bytesRecv: 100n,
    });
  });

  it("orients ICMP by request and reply type", () => {
    const { p, out } = pairer();
    const reply = rec({
      protocol: 1,
      sourcePort: 0,
      destPort: 0,
      icmpTypeCode: 0,
      sourceIp: "10.0.0.9",
      destIp: "10.0.0.1",
    });
    p.add(reply, 0);
    p.add(reverse(reply, 84n, { icmpTypeCode: 8 << 8 }), 0);
    expect(out[0]).toMatchObject({
      initiatorIp: "10.0.0.1",
      responderIp: "10.0.0.9",
      responderPort: 0,
      bytesSent: 84n,
      bytesRecv: 100n,
    });
  });

  it("emits an RFC 5103 biflow at once, turned round when the responder is first", () => {
    const { p, out } = pairer();
    p.add(rec({ reverseBytes: 5n }), 0);
    p.add(rec({ sourcePort: 8080, destPort: 45000, reverseBytes: 300n, bytes: 9000n }), 0);
    expect(
      out.map((c) => [c.initiatorIp, c.responderPort, c.bytesSent, c.bytesRecv, c.kind]),
    ).toEqual([
      ["10.0.0.1", 443, 100n, 5n, "biflow"],
      ["10.0.0.2", 8080, 300n, 9000n, "biflow"],
    ]);
  });

  it("adds up repeated flows of one direction until the reverse comes", () => {
    const { p, out } = pairer();
    p.add(rec({ bytes: 10n, startMs: 2000 }), 0);
    p.add(rec({ bytes: 15n, startMs: 1000 }), 0);
    p.add(reverse(rec({}), 40n), 0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ bytesSent: 25n, bytesRecv: 40n, startMs: 1000 });
  });

  it("keeps flows of different exporters and protocols apart", () => {
    const { p, out } = pairer();
    const a = rec({});
    p.add(a, 0);
    p.add(reverse(a, 1n, { exporter: "192.0.2.2:2055" }), 0);
    p.add(reverse(a, 1n, { protocol: 17 }), 0);
    expect(out).toEqual([]);
    expect(p.pending).toBe(3);
  });
});

describe("FlowPairer.flush()", () => {
  it("sends a flow out alone once it waited waitMs", () => {
    const { p, out } = pairer({ waitMs: 1000 });
    p.add(rec({ sourcePort: 443, destPort: 40000, bytes: 77n }), 0); // a response whose request was lost
    p.add(rec({ sourceIp: "10.0.0.5" }), 600);
    expect(p.flush(999)).toBe(0);
    expect(p.flush(1000)).toBe(1);
    expect(out).toEqual([
      {
        startMs: 1000,
        protocol: 6,
        initiatorIp: "10.0.0.2",
        responderIp: "10.0.0.1",
        responderPort: 443,
        bytesSent: 0n,
        bytesRecv: 77n,
        kind: "alone",
      },
    ]);
    expect(p.flush(0, true)).toBe(1);
    expect(p.stats).toEqual({ paired: 0, biflows: 0, alone: 2, evicted: 0 });
  });

  it("bounds the table: past maxPending the oldest goes out alone", () => {
    const { p, out } = pairer({ maxPending: 100 });
    for (let i = 0; i < 250; i++) p.add(rec({ sourcePort: 30000 + i }), 0);
    expect(p.pending).toBe(100);
    expect(out.map((c) => c.bytesSent)).toHaveLength(150);
    expect(p.stats.evicted).toBe(150);
    expect(out[0]).toMatchObject({ kind: "alone", bytesSent: 100n });
  });
});
