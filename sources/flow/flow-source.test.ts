import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { createRandom } from "../../detector/random.js";
import type { SourceContext, SourceEvent, SourceProblem } from "../source.js";
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
import { type FlowListener, ipfixSource, listenForFlows, parseListen } from "./flow-source.js";

const EXPORT_S = Math.floor(Date.UTC(2026, 11, 7) / 1000);
const FLOW4 = fieldsOf([
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [1, 8],
]);
const rec = (src: string, dst: string, sport: number, dport: number, bytes: number) =>
  encodeRecord(FLOW4, { 8: src, 12: dst, 7: sport, 11: dport, 4: 6, 1: bytes });

/** Three exporters' worth of one connection each: IPFIX, v9 and v5, both directions. */
function goodPackets(): Uint8Array[] {
  const ipfix = encodeIpfixMessage({ exportS: EXPORT_S, sequence: 0, domain: 1 }, [
    encodeSet(2, encodeIpfixTemplate(256, FLOW4)),
    encodeSet(
      256,
      Buffer.concat([
        rec("10.0.0.1", "10.0.0.2", 40001, 443, 500),
        rec("10.0.0.2", "10.0.0.1", 443, 40001, 7000),
      ]),
    ),
  ]);
  const v9 = encodeV9Packet(
    { count: 3, sysUptimeMs: 1000, exportS: EXPORT_S, sequence: 1, sourceId: 2 },
    [
      encodeSet(0, encodeV9Template(300, FLOW4)),
      encodeSet(
        300,
        Buffer.concat([
          rec("10.0.1.2", "10.0.1.1", 53, 50000, 120),
          rec("10.0.1.1", "10.0.1.2", 50000, 53, 60),
        ]),
      ),
    ],
  );
  const flow = {
    src: "10.0.2.1",
    dst: "10.0.2.2",
    sport: 41000,
    dport: 22,
    proto: 6,
    bytes: 3000,
    packets: 9,
    first: 500,
    last: 900,
  };
  const v5 = encodeV5Packet({ sysUptimeMs: 1000, exportS: EXPORT_S, sequence: 0 }, [
    flow,
    { ...flow, src: flow.dst, dst: flow.src, sport: 22, dport: 41000, bytes: 9000 },
  ]);
  return [ipfix, v9, v5];
}

function context(): {
  ctx: SourceContext;
  problems: SourceProblem[];
  notices: string[];
  abort: () => void;
} {
  const ac = new AbortController();
  const problems: SourceProblem[] = [];
  const notices: string[] = [];
  return {
    ctx: { signal: ac.signal, onSkip: (p) => problems.push(p), onNotice: (m) => notices.push(m) },
    problems,
    notices,
    abort: () => ac.abort(),
  };
}

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

async function sender(): Promise<Socket> {
  const s = createSocket("udp4");
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  return s;
}

function send(s: Socket, packet: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve, reject) =>
    s.send(packet, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
  );
}

/** Waits (bounded: 10 s) until the listener has taken `n` datagrams. */
async function received(l: FlowListener, n: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (l.stats.decoder.packets < n) {
    if (Date.now() > until)
      throw new Error(`listener got ${l.stats.decoder.packets} of ${n} datagrams`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function drain(events: AsyncIterable<SourceEvent>): Promise<SourceEvent[]> {
  const out: SourceEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

/** Seeded garbage: random lengths and bytes, three in four starting with a real version number. */
function garbage(seed: number, n: number): Uint8Array[] {
  const rnd = createRandom(seed);
  return Array.from({ length: n }, () => {
    const p = new Uint8Array(rnd.int(1400));
    for (let i = 0; i < p.length; i++) p[i] = rnd.int(256);
    const v = [5, 9, 10, -1][rnd.int(4)] as number;
    if (v > 0 && p.length >= 2) new DataView(p.buffer).setUint16(0, v);
    return p;
  });
}

describe("parseListen()", () => {
  it("splits HOST:PORT and [v6]:PORT, and names bad text", () => {
    expect(parseListen("127.0.0.1:2055")).toEqual({ host: "127.0.0.1", port: 2055 });
    expect(parseListen("[::1]:4739")).toEqual({ host: "::1", port: 4739 });
    expect(() => parseListen("2055")).toThrow('--listen "2055" is not HOST:PORT');
    expect(() => parseListen("h:70000")).toThrow("is not HOST:PORT");
  });
});

describe("ipfixSource.open()", () => {
  it("takes NetFlow v5, v9 and IPFIX on one socket, one event per connection from its initiator", async () => {
    const { ctx, problems, notices, abort } = context();
    const it = ipfixSource.open({ listen: "127.0.0.1:0" }, ctx)[Symbol.asyncIterator]();
    const first = it.next(); // binds, then waits for the first event
    const until = Date.now() + 10_000;
    while (notices.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    const port = Number(/:(\d+)$/.exec(notices[0] ?? "")?.[1]);
    expect(notices[0]).toMatch(/^listening for NetFlow v5\/v9 and IPFIX on udp 127\.0\.0\.1:\d+$/);
    const s = await sender();
    for (const p of goodPackets()) await send(s, p, port);
    const events: SourceEvent[] = [(await first).value as SourceEvent];
    while (events.length < 3) events.push((await it.next()).value as SourceEvent);
    abort();
    expect((await it.next()).done).toBe(true);
    expect(problems).toEqual([]);
    const shown = events.map(({ event: e }) => [
      e.sourceIp,
      e.destIp,
      e.destPort,
      e.bytesSent,
      e.bytesRecv,
      e.protocol,
    ]);
    expect(shown).toEqual([
      ["10.0.0.1", "10.0.0.2", 443, 500n, 7000n, "TCP"],
      ["10.0.1.1", "10.0.1.2", 53, 60n, 120n, "TCP"],
      ["10.0.2.1", "10.0.2.2", 22, 3000n, 9000n, "TCP"],
    ]);
    expect(
      events.every(
        (e) => e.label === undefined && e.event.processPath === "" && e.event.userContext === "",
      ),
    ).toBe(true);
    expect(Number(events[0]?.event.timestamp?.seconds)).toBe(EXPORT_S);
  });

  it("throws naming the address when the port is taken", async () => {
    const s = await sender();
    const taken = (s.address() as { port: number }).port;
    const { ctx } = context();
    const it = ipfixSource.open({ listen: `127.0.0.1:${taken}` }, ctx)[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow(
      `cannot listen on udp 127.0.0.1:${taken}: bind EADDRINUSE`,
    );
  });
});

describe("listenForFlows()", () => {
  it("survives a flood of random datagrams, counts each, and loses none of the good records", async () => {
    const flood = garbage(16, 2000);
    // What the decoder makes of the same garbage, packet by packet: each one is either
    // reported at once, held for a template (reported when it expires) or decoded.
    const offline = new FlowDecoder(() => offlineProblems++);
    let offlineProblems = 0;
    let silent = 0;
    for (const p of flood) {
      const before = offlineProblems + offline.stats.unknownTemplateSets;
      const records = offline.decode(p, "127.0.0.1", 9, 0).length;
      if (offlineProblems + offline.stats.unknownTemplateSets === before && records === 0) silent++;
    }
    offline.expire(0, true);
    expect(silent).toBe(0);
    expect(offlineProblems).toBeGreaterThan(flood.length * 0.9);

    const { ctx, problems, abort } = context();
    const l = await listenForFlows("127.0.0.1:0", ctx);
    const events = drain(l.events);
    const bad = await sender();
    const good = await sender();
    const [ipfix, v9, v5] = goodPackets() as [Uint8Array, Uint8Array, Uint8Array];
    let sent = 0;
    for (let i = 0; i < flood.length; i += 50) {
      if (i === 500) await send(good, ipfix, l.port);
      if (i === 1000) await send(good, v9, l.port);
      if (i === 1500) await send(good, v5, l.port);
      sent += i === 500 || i === 1000 || i === 1500 ? 1 : 0;
      for (const p of flood.slice(i, i + 50)) await send(bad, p, l.port);
      sent += Math.min(50, flood.length - i);
      await received(l, sent); // in steps, so no datagram is lost to a full socket buffer
    }
    abort();
    const out = await events;
    const badWhere = `exporter 127.0.0.1:${(bad.address() as { port: number }).port}`;
    const goodWhere = `exporter 127.0.0.1:${(good.address() as { port: number }).port}`;
    expect(problems.filter((p) => p.where.startsWith(badWhere))).toHaveLength(offlineProblems);
    expect(problems.filter((p) => p.where.startsWith(goodWhere))).toEqual([]);
    expect(problems.every((p) => p.message.length > 10)).toBe(true);
    const mine = out.filter(({ event: e }) => e.sourceIp.startsWith("10.0."));
    expect(mine.map(({ event: e }) => [e.sourceIp, e.destPort, e.bytesSent, e.bytesRecv])).toEqual([
      ["10.0.0.1", 443, 500n, 7000n],
      ["10.0.1.1", 53, 60n, 120n],
      ["10.0.2.1", 22, 3000n, 9000n],
    ]);
    expect(l.stats.decoder.packets).toBe(2003);
  });

  it("sends a flow whose reverse never comes out alone after the wait, and says so once", async () => {
    const { ctx, notices, problems, abort } = context();
    const l = await listenForFlows("127.0.0.1:0", ctx, { waitMs: 50, sweepMs: 10 });
    const it = l.events[Symbol.asyncIterator]();
    const s = await sender();
    const one = (sport: number) =>
      encodeIpfixMessage({ exportS: EXPORT_S, sequence: 0, domain: 1 }, [
        encodeSet(2, encodeIpfixTemplate(256, FLOW4)),
        encodeSet(256, rec("10.9.0.1", "10.9.0.2", sport, 8443, 321)),
      ]);
    await send(s, one(45000), l.port);
    const first = (await it.next()).value as SourceEvent; // no abort: the sweep sent it
    await send(s, one(45001), l.port);
    const second = (await it.next()).value as SourceEvent;
    abort();
    expect((await it.next()).done).toBe(true);
    expect([first, second].map(({ event: e }) => [e.destPort, e.bytesSent, e.bytesRecv])).toEqual([
      [8443, 321n, 0n],
      [8443, 321n, 0n],
    ]);
    expect(notices).toEqual([
      "a flow's reverse direction did not arrive within 0.05 s (or the pairing table was full): such flows go out alone, bytes_recv 0 (first: 10.9.0.1 -> 10.9.0.2:8443)",
    ]);
    expect(l.stats.pairer.alone).toBe(2);
    expect(problems.map((p) => p.message)).toEqual([
      "sequence went back by 1 records (sequence 0, expected 1): reordered, duplicated, or the exporter restarted",
    ]);
  });
});
