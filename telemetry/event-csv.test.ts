import { readFile } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { eventFromRecord, parseTimestamp } from "./event-csv.js";

/** The event as `create()` builds it from the same cells. */
function reference(r: Record<string, string>) {
  const ms = parseTimestamp(r.timestamp ?? "");
  return create(NetworkEventSchema, {
    timestamp: ms === undefined ? undefined : timestampFromMs(ms),
    processPath: r.process_path?.trim(),
    processHash: r.process_hash?.trim(),
    sourceIp: r.source_ip?.trim(),
    destIp: r.dest_ip?.trim(),
    destDomain: r.dest_domain?.trim(),
    destPort: Number(r.dest_port?.trim() || 0),
    bytesSent: BigInt(r.bytes_sent?.trim() || 0),
    bytesRecv: BigInt(r.bytes_recv?.trim() || 0),
    protocol: r.protocol?.trim(),
    dnsQuery: r.dns_query?.trim(),
    parentProcess: r.parent_process?.trim(),
    userContext: r.user_context?.trim(),
  });
}

describe("eventFromRecord()", () => {
  it("builds the object create() builds, keys in the same order, for data/telemetry.csv", async () => {
    const [head, ...lines] = (await readFile("data/telemetry.csv", "utf8")).trim().split("\n");
    const names = (head as string).split(",");
    for (const line of lines.slice(0, 2_000)) {
      const cells = line.split(",");
      const record = Object.fromEntries(names.map((n, i) => [n, cells[i] ?? ""]));
      const ours = eventFromRecord(record);
      const theirs = reference(record);
      expect(ours).toStrictEqual(theirs);
      expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    }
  });

  it("leaves the timestamp out when the cell is empty, as create() does", () => {
    const record = {
      timestamp: " ",
      process_path: "a.exe",
      dest_ip: "10.0.0.1",
      dest_port: "443",
      bytes_sent: "",
    };
    const ours = eventFromRecord(record);
    expect(ours).toStrictEqual(reference(record));
    expect("timestamp" in ours).toBe(false);
  });
});
