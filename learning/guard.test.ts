import { describe, expect, it } from "vitest";
import { simEvent } from "../telemetry/sim-event.js";
import { parseBenignPatterns } from "./benign-patterns.js";
import { createGuard } from "./guard.js";

const MIN = 60_000;
const event = (sourceIp: string, processPath: string, destDomain: string, timeMs = 0) =>
  simEvent({
    timeMs,
    processPath,
    processHash: "h",
    sourceIp,
    destIp: "203.0.113.7",
    destDomain,
    destPort: 443,
    bytesSent: 900,
    bytesRecv: 300,
    protocol: "TCP",
    dnsQuery: "",
    parentProcess: "explorer.exe",
    userContext: "User",
  });

describe("createGuard()", () => {
  it("never admits one host repeating a beacon, however long", () => {
    const guard = createGuard({ minHosts: 3, minSpanMs: 30 * MIN });
    let admitted = 0;
    // Every 5 minutes for 4 days.
    for (let i = 0; i < 4 * 288; i++) {
      if (guard.admit(event("192.168.1.103", "msupdate.exe", "c2.example"), i * 5 * MIN))
        admitted++;
    }
    expect(admitted).toBe(0);
    expect(guard.stats()).toMatchObject({ flagged: 4 * 288, admitted: 0, patterns: 1 });
  });

  it("admits a rollout to many hosts once it has been seen for long enough", () => {
    const guard = createGuard({ minHosts: 3, minSpanMs: 30 * MIN });
    const hosts = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
    const verdicts: boolean[] = [];
    for (let i = 0; i < 40; i++) {
      const e = event(hosts[i % hosts.length] as string, "fleetsync.exe", "api.fleetsync.io");
      verdicts.push(guard.admit(e, i * 2 * MIN));
    }
    // Three hosts by minute 4, but 30 minutes only from minute 30 (event 15).
    expect(verdicts.slice(0, 15).some(Boolean)).toBe(false);
    expect(verdicts.slice(15).every(Boolean)).toBe(true);
  });

  it("admits at most maxPerPattern events of a pattern per rate window", () => {
    const guard = createGuard({
      minHosts: 2,
      minSpanMs: 0,
      maxPerPattern: 5,
      rateWindowMs: 60 * MIN,
    });
    let admitted = 0;
    for (let i = 0; i < 100; i++)
      if (guard.admit(event(`10.0.0.${i % 2}`, "app.exe", "x.example"), i * 1000)) admitted++;
    expect(admitted).toBe(5);
    // The next hour has a fresh budget.
    expect(guard.admit(event("10.0.0.1", "app.exe", "x.example"), 61 * MIN)).toBe(true);
  });

  it("admits a pattern marked benign at once, from one host", () => {
    const benign = parseBenignPatterns("msupdate.exe|c2.example:443\n", "benign.txt", () => {});
    const guard = createGuard({ benign });
    expect(guard.admit(event("192.168.1.103", "msupdate.exe", "c2.example"), 0)).toBe(true);
    expect(guard.admit(event("192.168.1.103", "other.exe", "c2.example"), 0)).toBe(false);
    expect(guard.stats().admittedBenign).toBe(1);
  });

  it("forgets the stalest pattern past maxPatterns", () => {
    const guard = createGuard({ maxPatterns: 10 });
    for (let i = 0; i < 50; i++) guard.admit(event("10.0.0.1", `p${i}.exe`, "x.example"), i);
    expect(guard.stats().patterns).toBe(10);
  });
});
