import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../../gen/netanomaly/v1/telemetry_pb.js";
import type { AttackRecord } from "./attacks.js";
import { labelEvent, NORMAL } from "./label.js";

const T0 = Date.UTC(2026, 0, 1, 9);
const attacks: AttackRecord[] = [
  {
    name: "nmap-connect-scan",
    startMs: T0,
    endMs: T0 + 2000,
    sourceIp: "10.203.0.12",
    processPath: "/usr/bin/nmap",
    destPorts: [[1, 1024]],
    detail: "",
  },
  {
    name: "new-process-beacon",
    startMs: T0 + 10_000,
    endMs: T0 + 30_000,
    sourceIp: "10.203.0.15",
    processPath: "/tmp/x/.cache/updater",
    destPorts: [8443],
    detail: "",
  },
];
const normalPaths = new Set(["/usr/bin/curl", "/usr/bin/dig"]);
const event = (fields: Record<string, unknown>, ms = T0 + 1000) =>
  create(NetworkEventSchema, { timestamp: timestampFromMs(ms), ...fields });

describe("labelEvent()", () => {
  it("labels an event from an attack's address with that attack", () => {
    expect(labelEvent(event({ sourceIp: "10.203.0.12", destPort: 80 }), attacks, normalPaths)).toBe(
      "nmap-connect-scan",
    );
  });

  it("labels a server's reply to an attack's address with that attack", () => {
    expect(
      labelEvent(event({ sourceIp: "10.203.0.2", destIp: "10.203.0.15" }), attacks, normalPaths),
    ).toBe("new-process-beacon");
  });

  it("labels an attack tool's own process inside its window", () => {
    const e = event({ sourceIp: "10.203.0.1", processPath: "/tmp/x/.cache/updater" }, T0 + 20_000);
    expect(labelEvent(e, attacks, normalPaths)).toBe("new-process-beacon");
  });

  it("leaves an attack tool's process outside its window normal", () => {
    const e = event({ sourceIp: "10.203.0.1", processPath: "/usr/bin/nmap" }, T0 + 60_000);
    expect(labelEvent(e, attacks, normalPaths)).toBe(NORMAL);
  });

  it("never labels by a program the office also runs", () => {
    const p = new Set([...normalPaths, "/usr/bin/nmap"]);
    const e = event({ sourceIp: "10.203.0.1", processPath: "/usr/bin/nmap" });
    expect(labelEvent(e, attacks, p)).toBe(NORMAL);
  });

  it("labels the office's own traffic normal", () => {
    const e = event({ sourceIp: "10.203.0.1", destIp: "10.203.0.2", processPath: "/usr/bin/curl" });
    expect(labelEvent(e, attacks, normalPaths)).toBe(NORMAL);
  });
});
