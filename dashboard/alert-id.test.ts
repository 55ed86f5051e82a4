import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { buildAlert, patternKey, patternOf } from "../alerts/alert.js";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { alertId } from "./alert-id.js";

const event = create(NetworkEventSchema, {
  timestamp: timestampFromMs(1_700_000_000_000),
  processPath: "/usr/bin/curl",
  sourceIp: "10.0.0.5",
  destIp: "203.0.113.9",
  destPort: 4444,
  protocol: "TCP",
});
const contributions = [
  { feature: "dest_port_rarity", contribution: 1.2, value: 9 },
  { feature: "bytes_sent_log", contribution: 0.8, value: 12 },
];

describe("alertId()", () => {
  it("is the id the alert outputs give the alert the anomaly opens", () => {
    const input = { event, contributions, score: 0.8, threshold: 0.6, modelVersion: "v1" };
    const alert = buildAlert(input, {
      key: patternKey(patternOf(input)),
      count: 1,
      firstSeenMs: 1_700_000_000_000,
      lastSeenMs: 1_700_000_000_000,
      nowMs: 1_700_000_000_500,
    });
    expect(alertId(event, contributions, "v1", 5)).toBe(alert.alertId);
    expect(alert.alertId).toMatch(/^al_[0-9a-f]{24}$/);
  });

  it("takes the time scored for an event without a timestamp, and differs by model", () => {
    const untimed = create(NetworkEventSchema, { ...event, timestamp: undefined });
    expect(alertId(untimed, contributions, "v1", 1_700_000_000_000)).toBe(
      alertId(event, contributions, "v1", 5),
    );
    expect(alertId(event, contributions, "v2", 5)).not.toBe(alertId(event, contributions, "v1", 5));
  });
});
