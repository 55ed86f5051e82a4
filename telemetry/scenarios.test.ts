import { describe, expect, it } from "vitest";
import { SCENARIOS, startEpisode } from "./scenarios.js";
import { createSimRandom } from "./sim-random.js";
import { createSimulator } from "./simulator.js";
import { validateEvent } from "./validate.js";

const START = Date.UTC(2024, 11, 9, 12);

function episodeEvents(name: (typeof SCENARIOS)[number], seed: number, n: number) {
  const rng = createSimRandom(seed);
  const out = [];
  for (let e = 0; e < n; e++) {
    const ep = startEpisode(name, rng);
    while (ep.remaining-- > 0) out.push(ep.emit(rng, START));
  }
  return out;
}

describe("startEpisode()", () => {
  for (const name of SCENARIOS) {
    it(`makes valid, labelled ${name} events`, () => {
      const sim = createSimulator({ seed: 11, anomalyRate: 1, scenarios: [name] });
      for (let i = 0; i < 500; i++) {
        const { event, label } = sim.next();
        expect(label).toBe(name);
        expect(validateEvent(event)).toBeUndefined();
      }
    });
  }

  it("varies the tool and target between episodes", () => {
    for (const name of SCENARIOS) {
      const events = episodeEvents(name, 3, 40);
      const paths = new Set(events.map((e) => e.processPath));
      const targets = new Set(events.map((e) => `${e.destIp}:${e.destPort}`));
      expect(paths.size, name).toBeGreaterThan(5);
      expect(targets.size, name).toBeGreaterThan(5);
    }
  });

  it("gives exfiltration uploads far above normal traffic", () => {
    for (const e of episodeEvents("exfiltration", 4, 30))
      expect(e.bytesSent).toBeGreaterThan(1_000_000n);
  });

  it("makes a port scan touch many ports on one host with tiny byte counts", () => {
    const rng = createSimRandom(5);
    const ep = startEpisode("port_scan", rng);
    const events = Array.from({ length: ep.remaining }, () => ep.emit(rng, START));
    expect(new Set(events.map((e) => e.destIp)).size).toBe(1);
    expect(new Set(events.map((e) => e.destPort)).size).toBeGreaterThan(events.length / 2);
    for (const e of events) expect(e.bytesSent).toBeLessThanOrEqual(60n);
  });

  it("makes dns tunnel queries long, with several labels", () => {
    for (const e of episodeEvents("dns_tunnel", 6, 10)) {
      expect(e.destPort).toBe(53);
      expect(e.dnsQuery.length).toBeGreaterThan(50);
      expect(e.dnsQuery.split(".").length).toBeGreaterThanOrEqual(4);
    }
  });

  it("puts c2 beacons in user-writable directories", () => {
    for (const e of episodeEvents("c2_beacon", 7, 20)) {
      expect(e.processPath).toMatch(/^C:\\(Users|ProgramData|Windows\\Temp)/);
    }
  });

  it("sends crypto mining to stratum ports and lateral movement to admin ports on internal hosts", () => {
    for (const e of episodeEvents("crypto_mining", 8, 20)) {
      expect([3333, 4444, 5555, 7777, 14444, 14433, 45700, 3357, 9999, 443]).toContain(e.destPort);
    }
    for (const e of episodeEvents("lateral_movement", 9, 20)) {
      expect([135, 445, 3389, 5985, 5986]).toContain(e.destPort);
      expect(e.destIp).toMatch(/^(192\.168|10)\./);
    }
  });
});
