import { toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { SIM_HOSTS } from "./sim-network.js";
import { createSimulator, DEFAULT_START_MS, type LabelledEvent, SCENARIOS } from "./simulator.js";
import { validateEvent } from "./validate.js";

function take(n: number, sim: { next(): LabelledEvent }): LabelledEvent[] {
  return Array.from({ length: n }, () => sim.next());
}

describe("createSimulator()", () => {
  it("gives the same events for the same seed", () => {
    const a = take(2_000, createSimulator({ seed: 42, anomalyRate: 0.05 }));
    const b = take(2_000, createSimulator({ seed: 42, anomalyRate: 0.05 }));
    expect(a.map((x) => toBinary(NetworkEventSchema, x.event))).toEqual(
      b.map((x) => toBinary(NetworkEventSchema, x.event)),
    );
    expect(a.map((x) => x.label)).toEqual(b.map((x) => x.label));
  });

  it("gives different events for different seeds", () => {
    const a = take(50, createSimulator({ seed: 1 }));
    const b = take(50, createSimulator({ seed: 2 }));
    expect(a.map((x) => x.event.processPath)).not.toEqual(b.map((x) => x.event.processPath));
  });

  it("produces only normal events at anomaly rate 0", () => {
    const labels = new Set(take(5_000, createSimulator({ seed: 3 })).map((x) => x.label));
    expect([...labels]).toEqual(["normal"]);
  });

  it("injects attacks at about the requested rate, every scenario about equally", () => {
    const events = take(100_000, createSimulator({ seed: 4, anomalyRate: 0.1 }));
    const attacks = events.filter((x) => x.label !== "normal");
    expect(attacks.length / events.length).toBeGreaterThan(0.09);
    expect(attacks.length / events.length).toBeLessThan(0.11);
    for (const name of SCENARIOS) {
      const share = attacks.filter((x) => x.label === name).length / attacks.length;
      expect(share, name).toBeGreaterThan(0.5 / SCENARIOS.length);
      expect(share, name).toBeLessThan(2 / SCENARIOS.length);
    }
  });

  it("injects only the scenarios asked for", () => {
    const labels = new Set(
      take(5_000, createSimulator({ seed: 5, anomalyRate: 0.5, scenarios: ["port_scan"] })).map(
        (x) => x.label,
      ),
    );
    expect([...labels].sort()).toEqual(["normal", "port_scan"]);
  });

  it("advances the clock with a weekday rhythm over every host", () => {
    const events = take(30_000, createSimulator({ seed: 6, meanGapMs: 15_000 }));
    const ms = events.map(
      (x) => Number(x.event.timestamp?.seconds) * 1000 + (x.event.timestamp?.nanos ?? 0) / 1e6,
    );
    for (let i = 1; i < ms.length; i++) expect(ms[i]).toBeGreaterThanOrEqual(ms[i - 1] as number);
    expect(ms[0]).toBeGreaterThanOrEqual(DEFAULT_START_MS);
    const hours = new Array<number>(24).fill(0);
    for (const t of ms) {
      const d = new Date(t);
      if (d.getUTCDay() >= 1 && d.getUTCDay() <= 5)
        hours[d.getUTCHours()] = (hours[d.getUTCHours()] as number) + 1;
    }
    // Working hours are several times busier than the small hours.
    expect(hours[10] as number).toBeGreaterThan(3 * (hours[4] as number));
    const sources = new Set(events.map((x) => x.event.sourceIp));
    expect(sources.size).toBe(SIM_HOSTS.length);
  });

  it("produces normal events that pass validateEvent", () => {
    for (const { event } of take(20_000, createSimulator({ seed: 7 }))) {
      expect(validateEvent(event)).toBeUndefined();
    }
  });

  it("rejects an anomaly rate outside [0, 1]", () => {
    expect(() => createSimulator({ anomalyRate: 1.5 })).toThrow(
      /anomalyRate must be in \[0, 1\], got 1.5/,
    );
  });
});
