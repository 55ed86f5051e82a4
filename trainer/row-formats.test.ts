import { describe, expect, it } from "vitest";
import { TELEMETRY_COLUMNS } from "../telemetry/index.js";
import { RowError, telemetryRows } from "./row-formats.js";

const GOOD = [
  "2024-12-02T01:23:57.696Z",
  "C:\\Windows\\System32\\svchost.exe",
  "a343f3f6e554",
  "192.168.1.103",
  "8.8.8.8",
  "dns.google",
  "53",
  "64",
  "106",
  "UDP",
  "google.com",
  "services.exe",
  "SYSTEM",
];

function row(changes: Record<string, string> = {}): Record<string, string> {
  const record = Object.fromEntries(TELEMETRY_COLUMNS.map((c, i) => [c, GOOD[i] as string]));
  return { ...record, ...changes };
}

function rowError(record: Record<string, string>): RowError {
  try {
    telemetryRows.parse(record);
  } catch (e) {
    if (e instanceof RowError) return e;
    throw e;
  }
  throw new Error("expected a RowError");
}

describe("telemetryRows.parse()", () => {
  it("reads a good row", () => {
    expect(telemetryRows.parse(row()).destPort).toBe(53);
  });

  it("names one bad cell", () => {
    const e = rowError(row({ dest_port: "-1" }));
    expect(e.columns).toEqual(["dest_port"]);
    expect(e.message).toBe('dest_port "-1" is not a non-negative integer');
  });

  it("names every bad cell of a row, each with its rule", () => {
    const e = rowError(row({ bytes_recv: "-1", source_ip: "999.1.1.1", timestamp: "soon" }));
    expect(e.columns).toEqual(["timestamp", "source_ip", "bytes_recv"]);
    expect(e.message.split("; ")).toHaveLength(3);
    expect(e.message).toContain('bytes_recv "-1" is not a non-negative integer');
    expect(e.message).toContain('source_ip "999.1.1.1" is not an IPv4 or IPv6 address');
  });

  it("does not blame a required field that only emptying a bad cell took away", () => {
    const e = rowError(row({ dest_ip: "not-an-ip", dest_domain: "" }));
    expect(e.columns).toEqual(["dest_ip"]);
    expect(e.message).toBe('dest_ip "not-an-ip" is not an IPv4 or IPv6 address');
  });

  it("names a row with no destination at all", () => {
    const e = rowError(row({ dest_ip: "", dest_domain: "" }));
    expect(e.columns).toEqual(["dest_ip"]);
    expect(e.message).toBe("dest_ip or dest_domain is required, and the event has neither");
  });
});
