import { describe, expect, it } from "vitest";
import { parseCount, parseLogTime, plainAddress, transportName } from "./log-event.js";

describe("parseLogTime()", () => {
  it("reads epoch seconds as numbers and as text", () => {
    expect(parseLogTime(1700000000.25)).toBe(1700000000250);
    expect(parseLogTime("1700000000.250000")).toBe(1700000000250);
  });

  it("reads ISO 8601 with Z, +hh:mm, Suricata's +hhmm, and Sysmon's UtcTime as UTC", () => {
    const ms = Date.UTC(2023, 10, 14, 22, 13, 20, 250);
    for (const text of [
      "2023-11-14T22:13:20.250Z",
      "2023-11-14T22:13:20.250000+0000",
      "2023-11-14T23:13:20.250000+0100",
      "2023-11-14T21:13:20.25-01:00",
      "2023-11-14 22:13:20.250",
      "2023-11-14T22:13:20.2500000Z",
    ])
      expect(parseLogTime(text), text).toBe(ms);
    expect(parseLogTime("2023-11-14T22:13:20Z")).toBe(Date.UTC(2023, 10, 14, 22, 13, 20));
  });

  it("agrees with Date.parse over a spread of instants", () => {
    for (let t = Date.UTC(1999, 0, 1); t < Date.UTC(2031, 0, 1); t += 86_400_000 * 37 + 3_723_456) {
      const iso = new Date(t).toISOString();
      expect(parseLogTime(iso)).toBe(t);
      expect(parseLogTime(iso.replace("T", " ").replace("Z", ""))).toBe(t);
    }
  });

  it("reads osquery's calendarTime and gives undefined for what is no time", () => {
    expect(parseLogTime("Tue Nov 14 22:13:20 2023 UTC")).toBe(Date.UTC(2023, 10, 14, 22, 13, 20));
    expect(parseLogTime("2023-02-30T00:00:00Z")).toBeUndefined();
    expect(parseLogTime("yesterday")).toBeUndefined();
    expect(parseLogTime("")).toBeUndefined();
    expect(parseLogTime(undefined)).toBeUndefined();
  });
});

describe("parseCount()", () => {
  it("reads non-negative integers only", () => {
    expect(parseCount("443")).toBe(443);
    expect(parseCount(0)).toBe(0);
    expect(parseCount("-1")).toBeUndefined();
    expect(parseCount("4.5")).toBeUndefined();
    expect(parseCount("0x10")).toBeUndefined();
    expect(parseCount("")).toBeUndefined();
    expect(parseCount("1234567890123456")).toBeUndefined();
  });
});

describe("transportName()", () => {
  it("spells transports as the telemetry does", () => {
    expect(transportName("tcp")).toBe("TCP");
    expect(transportName("IPv6-ICMP")).toBe("ICMP");
    expect(transportName(17)).toBe("UDP");
    expect(transportName("6")).toBe("TCP");
    expect(transportName(47)).toBe("IP-47");
    expect(transportName("unknown_transport")).toBe("UNKNOWN_TRANSPORT");
  });
});

describe("plainAddress()", () => {
  it("unmaps IPv4-mapped IPv6 and drops a zone", () => {
    expect(plainAddress("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(plainAddress("fe80::1%eth0")).toBe("fe80::1");
    expect(plainAddress("2001:db8::1")).toBe("2001:db8::1");
  });
});
