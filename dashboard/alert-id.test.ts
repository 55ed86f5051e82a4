import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { alertId } from "./alert-id.js";

const base = {
  processPath: "/usr/bin/curl",
  sourceIp: "10.0.0.5",
  destIp: "203.0.113.9",
  destPort: 4444,
  protocol: "TCP",
};

describe("alertId()", () => {
  it("is 16 hex digits, the same for repeats of one pattern", () => {
    const a = alertId(create(NetworkEventSchema, { ...base, bytesSent: 1n }), "dest_port_rarity");
    const b = alertId(create(NetworkEventSchema, { ...base, bytesSent: 9n }), "dest_port_rarity");
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(b).toBe(a);
    expect(
      alertId(create(NetworkEventSchema, { ...base, protocol: "tcp" }), "dest_port_rarity"),
    ).toBe(a);
  });

  it("differs when the destination or the top feature differs", () => {
    const a = alertId(create(NetworkEventSchema, base), "dest_port_rarity");
    expect(
      alertId(create(NetworkEventSchema, { ...base, destPort: 4445 }), "dest_port_rarity"),
    ).not.toBe(a);
    expect(alertId(create(NetworkEventSchema, base), "bytes_sent_log")).not.toBe(a);
  });
});
