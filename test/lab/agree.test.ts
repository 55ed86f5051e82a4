import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../../gen/netanomaly/v1/telemetry_pb.js";
import { flowsVsCapture } from "./agree.js";
import type { Capture, Conversation } from "./pcap.js";

function udp(n: number): Conversation[] {
  return Array.from({ length: n }, (_, i) => ({
    protocol: "UDP" as const,
    sourceIp: "10.0.0.1",
    sourcePort: 40_000 + i,
    destIp: "10.0.0.2",
    destPort: 53,
    firstMs: i,
    lastMs: i,
    bytesSent: 60,
    bytesRecv: 100,
    packets: 2,
  }));
}

function events(n: number) {
  return Array.from({ length: n }, () =>
    create(NetworkEventSchema, { protocol: "udp", bytesSent: 60n, bytesRecv: 100n }),
  );
}

const capture = (n: number): Capture => ({ conversations: udp(n), packets: 2 * n, skipped: 0 });
const udpCheck = (collected: number, reference: number, dropped?: number) =>
  flowsVsCapture(
    "x",
    events(collected),
    capture(reference),
    dropped === undefined ? undefined : { exporterDropped: dropped },
  ).find((a) => a.what.includes("UDP"));

describe("flowsVsCapture", () => {
  it("holds a replay's UDP conversations to 2 % of the capture's, a live exporter's to 3 %", () => {
    expect(udpCheck(322, 328)?.ok).toBe(true);
    expect(udpCheck(322, 329)?.ok).toBe(false);
    expect(udpCheck(322, 329, 0)?.ok).toBe(true);
    expect(udpCheck(318, 329, 0)?.ok).toBe(false);
  });

  it("lets a live exporter fall short by the packets its capture dropped, and says so", () => {
    const a = udpCheck(311, 329, 9);
    expect(a?.ok).toBe(true);
    expect(a?.note).toBe("its exporter's capture dropped 9 packets");
    expect(udpCheck(300, 329, 9)?.ok).toBe(false);
  });

  it("does not excuse a collector that counts more than the capture", () => {
    expect(udpCheck(340, 329, 10)?.ok).toBe(false);
  });
});
