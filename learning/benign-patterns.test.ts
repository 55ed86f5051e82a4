import { describe, expect, it } from "vitest";
import { simEvent } from "../telemetry/sim-event.js";
import { type BenignLineError, parseBenignPatterns } from "./benign-patterns.js";

const event = (processPath: string, destDomain: string, destIp: string, destPort: number) =>
  simEvent({
    timeMs: 0,
    processPath,
    processHash: "",
    sourceIp: "10.0.0.1",
    destIp,
    destDomain,
    destPort,
    bytesSent: 0,
    bytesRecv: 0,
    protocol: "TCP",
    dnsQuery: "",
    parentProcess: "",
    userContext: "",
  });

describe("parseBenignPatterns()", () => {
  it("matches process and destination, with ports, addresses and wildcards", () => {
    const text = [
      "# rolled out on 2024-12-11",
      "C:\\Program Files\\FleetSync\\fleetsync.exe|api.fleetsync.io:443",
      "*|52.96.164.18",
      "backup.exe|*",
      "",
    ].join("\n");
    const p = parseBenignPatterns(text, "b.txt", () => {});
    expect(p.size).toBe(3);
    expect(
      p.matches(
        event("C:\\Program Files\\FleetSync\\fleetsync.exe", "api.fleetsync.io", "1.2.3.4", 443),
      ),
    ).toBe(true);
    expect(
      p.matches(
        event("C:\\Program Files\\FleetSync\\fleetsync.exe", "api.fleetsync.io", "1.2.3.4", 80),
      ),
    ).toBe(false);
    expect(p.matches(event("any.exe", "", "52.96.164.18", 25))).toBe(true);
    expect(p.matches(event("backup.exe", "x", "9.9.9.9", 1))).toBe(true);
    expect(p.matches(event("other.exe", "x", "9.9.9.9", 1))).toBe(false);
  });

  it("reports a bad line by file:line and keeps the good ones", () => {
    const errors: BenignLineError[] = [];
    const p = parseBenignPatterns(
      "a.exe|x.example\nno bar here\nb.exe|y.example:99999\nc.exe|z\n",
      "b.txt",
      (e) => errors.push(e),
    );
    expect(p.size).toBe(2);
    expect(errors.map((e) => e.where)).toEqual(["b.txt:2", "b.txt:3"]);
    expect(errors[1]?.message).toMatch(/port/);
  });
});
