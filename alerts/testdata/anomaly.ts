import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { NetworkEventSchema } from "../../gen/netanomaly/v1/telemetry_pb.js";
import type { AnomalyInput } from "../alert.js";

/** An anomaly for tests: process `proc` on host `src` to `dest`, at `ms`. */
export function anomaly(
  i: number,
  over: Partial<Record<string, string | number>> = {},
): AnomalyInput {
  return {
    event: create(NetworkEventSchema, {
      timestamp: timestampFromMs(Number(over.ms ?? 1_700_000_000_000 + i * 1000)),
      processPath: String(over.proc ?? "/usr/bin/curl"),
      sourceIp: String(over.src ?? "10.0.0.5"),
      destIp: String(over.dest ?? "203.0.113.7"),
      destDomain: String(over.domain ?? ""),
      destPort: Number(over.port ?? 443),
      protocol: "TCP",
      bytesSent: 1000n,
      bytesRecv: 2000n,
    }),
    score: Number(over.score ?? 0.7),
    contributions: [
      { feature: "bytes_sent", contribution: 0.5, value: 1000 },
      { feature: "dest_port", contribution: 0.2, value: 443 },
    ],
    threshold: 0.6,
    modelVersion: "abcdef012345",
  };
}
