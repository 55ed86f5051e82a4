import { create, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { StreamScoreRequestSchema } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { csvSource } from "../sources/csv.js";
import { createSimulator } from "../telemetry/simulator.js";
import { EventsEncoder, eventAt, type OutgoingEvent } from "./event-encoder.js";

/** The bytes protobuf-es writes for a request with these events. */
const canonical = (id: string, events: NetworkEvent[]) =>
  toBinary(StreamScoreRequestSchema, create(StreamScoreRequestSchema, { requestId: id, events }));

const ours = (encoder: EventsEncoder, id: string, events: NetworkEvent[]) =>
  toBinary(StreamScoreRequestSchema, encoder.request(id, events));

/** Asserts equal bytes; the slow deep comparison runs only to show a difference. */
function expectSame(a: Uint8Array, b: Uint8Array, what: string): void {
  if (!Buffer.from(a).equals(Buffer.from(b))) expect(Buffer.from(a), what).toEqual(Buffer.from(b));
}

describe("EventsEncoder.request()", () => {
  it("writes the bytes toBinary writes, for 20,000 simulated events in batches", () => {
    const sim = createSimulator({ seed: 3, anomalyRate: 0.2 });
    const encoder = new EventsEncoder();
    for (const size of [1, 7, 100, 1000]) {
      for (let b = 0; b < 5; b++) {
        const events = Array.from({ length: size }, () => sim.next().event);
        expectSame(ours(encoder, "r", events), canonical("r", events), `batch ${size}.${b}`);
      }
    }
  });

  it("writes the bytes toBinary writes for the replayed data/telemetry.csv", async () => {
    const events: NetworkEvent[] = [];
    const source = csvSource.open(
      { input: "data/telemetry.csv" },
      { signal: new AbortController().signal, onSkip: () => {}, onNotice: () => {} },
    );
    for await (const { event } of source) events.push(event);
    expect(events.length).toBeGreaterThan(20_000);
    const encoder = new EventsEncoder();
    for (let i = 0; i < events.length; i += 500) {
      const batch = events.slice(i, i + 500);
      expectSame(ours(encoder, String(i), batch), canonical(String(i), batch), `rows from ${i}`);
    }
  });

  it("copies events given as their encoding (a source's `encoded`), mixed with objects", async () => {
    const items: OutgoingEvent[] = [];
    const events: NetworkEvent[] = [];
    const source = csvSource.open(
      { input: "data/telemetry.csv", encoded: true },
      { signal: new AbortController().signal, onSkip: () => {}, onNotice: () => {} },
    );
    let i = 0;
    for await (const e of source) {
      // Every third one as the object, the rest as the bytes the source wrote.
      items.push(i++ % 3 === 0 || e.encoded === undefined ? e.event : e.encoded);
      events.push(e.event);
    }
    expect(items.filter((e) => e instanceof Uint8Array).length).toBeGreaterThan(10_000);
    const encoder = new EventsEncoder();
    for (let k = 0; k < items.length; k += 500) {
      const request = encoder.request(String(k), items.slice(k, k + 500));
      const bytes = toBinary(StreamScoreRequestSchema, request);
      expectSame(bytes, canonical(String(k), events.slice(k, k + 500)), `rows from ${k}`);
    }
  });

  it("writes the bytes toBinary writes for edge cases", () => {
    const base = createSimulator({ seed: 1 }).next().event;
    const cases: NetworkEvent[] = [
      create(NetworkEventSchema, {}),
      { ...base, timestamp: undefined },
      { ...base, processPath: "C:\\Programme\\Über\\naïve.exe", dnsQuery: "日本.example" },
      { ...base, userContext: "emoji 🙂 and a lone \ud800 surrogate" },
      {
        ...base,
        destDomain: "a".repeat(127),
        dnsQuery: "b".repeat(128),
        protocol: "é".repeat(200),
      },
      { ...base, processHash: "x".repeat(70_000) },
      { ...base, destPort: 0, bytesSent: 0n, bytesRecv: 2n ** 64n - 1n },
      { ...base, bytesSent: 2n ** 53n, bytesRecv: 2n ** 53n - 1n, destPort: 2 ** 32 - 1 },
      { ...base, timestamp: create(TimestampSchema, { seconds: -5n, nanos: 7 }) },
      { ...base, timestamp: create(TimestampSchema, { seconds: 0n, nanos: 0 }) },
      { ...base, timestamp: create(TimestampSchema, { seconds: 2n ** 62n, nanos: 999_999_999 }) },
      { ...base, $unknown: [{ no: 99, wireType: 0, data: new Uint8Array([1]) }] },
    ];
    const encoder = new EventsEncoder();
    for (const [i, e] of cases.entries()) {
      expectSame(ours(encoder, String(i), [e]), canonical(String(i), [e]), `case ${i}`);
    }
    expectSame(ours(encoder, "all", cases), canonical("all", cases), "all cases");
    expectSame(ours(encoder, "none", []), canonical("none", []), "no events");
  });

  it("leaves earlier requests' bytes as they were while later ones fill and outgrow its buffers", () => {
    const sim = createSimulator({ seed: 5, anomalyRate: 0.1 });
    const encoder = new EventsEncoder();
    const kept: { events: NetworkEvent[]; data: Uint8Array; ends: Uint32Array }[] = [];
    // About 3 MB in all, in requests of 1 to 400 events and a few of one huge event.
    for (let r = 0; r < 120; r++) {
      const size = r % 10 === 9 ? 1 : 1 + ((r * 37) % 400);
      const events = Array.from({ length: size }, () => sim.next().event);
      if (r % 10 === 9)
        events[0] = { ...(events[0] as NetworkEvent), dnsQuery: "q".repeat(300_000) };
      const ends = new Uint32Array(size);
      kept.push({ events, data: encoder.encode(events, ends), ends });
    }
    for (const [r, { events, data, ends }] of kept.entries()) {
      // `encode` leaves out the first tag, which the writer of the unknown field writes.
      const want = canonical("", events).subarray(1);
      expectSame(data, want, `request ${r}`);
      for (const i of [0, events.length - 1]) {
        expect(eventAt(data, ends, i), `request ${r} event ${i}`).toStrictEqual(events[i]);
      }
    }
  });
});
