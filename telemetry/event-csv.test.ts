import { readFile } from "node:fs/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import {
  CsvRowError,
  columnIndex,
  eventFromCells,
  eventFromRecord,
  parseTimestamp,
} from "./event-csv.js";
import { TELEMETRY_COLUMNS } from "./schema.js";

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

  it("makes the timestamp timestampFromMs makes, in every form parseTimestamp reads", () => {
    const forms = [
      "2024-12-16T08:30:00Z",
      "2024-12-16T08:30:00.123Z",
      "1970-01-01T00:00:00Z",
      "12/16/24 8:30",
      "12/16/2024 23:59:59",
      "1734337800",
      "1734337800.5",
      "1734337800.123456",
      "0.0000001",
      "2024-12-16",
      "2024-12-16T08:30:00+02:00",
      "2099-12-31T23:59:59.999Z",
    ];
    for (const timestamp of forms) {
      const record = { timestamp, dest_ip: "10.0.0.1", dest_port: "443" };
      expect(eventFromRecord(record).timestamp, timestamp).toStrictEqual(
        timestampFromMs(parseTimestamp(timestamp) as number),
      );
    }
  });
});

describe("parseTimestamp() on epoch seconds", () => {
  it("gives whole milliseconds, so the event's Timestamp encodes (nanos is an int32)", () => {
    expect(parseTimestamp("1734337800.123456")).toBe(1734337800123);
    expect(parseTimestamp("1734337800.9999")).toBe(1734337801000);
    expect(parseTimestamp("0.0000001")).toBe(0);
    for (const timestamp of ["1734337800.123456", "1734337800.1", "1734337800.0005"]) {
      const event = eventFromRecord({ timestamp, dest_ip: "10.0.0.1", dest_port: "443" });
      expect(Number.isInteger(event.timestamp?.nanos), timestamp).toBe(true);
      expect(() => toBinary(NetworkEventSchema, event), timestamp).not.toThrow();
    }
  });
});

describe("parseTimestamp() on ISO 8601 UTC", () => {
  /** What the general path gives: `Date.parse`, then the 1970..2100 rule. */
  const general = (s: string): number | "throws" => {
    const ms = Date.parse(s);
    return Number.isFinite(ms) && ms >= 0 && ms < 4_102_444_800_000 ? ms : "throws";
  };
  const ours = (s: string): number | "throws" => {
    try {
      return parseTimestamp(s) as number;
    } catch {
      return "throws";
    }
  };

  it("agrees with Date.parse on 20,000 timestamps with fields in and out of range", () => {
    let state = 12345;
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const pad = (v: number, w: number) => String(v).padStart(w, "0");
    for (let i = 0; i < 20_000; i++) {
      const date = `${pad(1960 + rand(150), 4)}-${pad(rand(14), 2)}-${pad(rand(33), 2)}`;
      const time = `${pad(rand(26), 2)}:${pad(rand(62), 2)}:${pad(rand(62), 2)}`;
      const s = `${date}T${time}${i % 2 === 0 ? `.${pad(rand(1000), 3)}` : ""}Z`;
      expect(ours(s), s).toBe(general(s));
    }
  });

  it("agrees with Date.parse on near misses of the common form", () => {
    for (const s of [
      "2024-12-02T00:01:03.047Z",
      "2024-12-02T00:01:03Z",
      "2024-02-29T12:00:00Z",
      "2023-02-29T12:00:00Z",
      "2024-04-31T12:00:00Z",
      "2099-12-31T23:59:59.999Z",
      "2100-01-01T00:00:00Z",
      "1969-12-31T23:59:59Z",
      "1970-01-01T00:00:00.000Z",
      "2024-12-02T24:00:00Z",
      "2024-12-02T00:01:60Z",
      "2024-12-02 00:01:03Z",
      "2024-12-02T00:01:03z",
      "2024-12-02T00:01:03,047Z",
      "2024-12-02T00:01:03.04aZ",
      "2024-1a-02T00:01:03Z",
      "+02024-12-02T00:01:03Z",
      "2024-12-02T00:01:03.0470Z",
    ]) {
      expect(ours(s), s).toBe(general(s));
    }
  });
});

describe("eventFromRecord() counts", () => {
  const base = {
    timestamp: "2024-12-16T09:00:00Z",
    process_path: "a.exe",
    dest_ip: "8.8.8.8",
    protocol: "UDP",
  };
  const read = (cells: Record<string, string>) => {
    try {
      const e = eventFromRecord({ ...base, ...cells });
      return [e.destPort, e.bytesSent, e.bytesRecv];
    } catch (err) {
      return (err as Error).message;
    }
  };

  it("reads ports and byte counts, with their limits, as BigInt of the text does", () => {
    expect(read({ dest_port: "0053", bytes_sent: "007", bytes_recv: " 12 " })).toEqual([
      53,
      7n,
      12n,
    ]);
    expect(read({ dest_port: "65535", bytes_sent: "", bytes_recv: "0" })).toEqual([65535, 0n, 0n]);
    expect(read({ dest_port: "65536" })).toBe("dest_port 65536 is out of range 0..65535");
    expect(read({ dest_port: "000000000000000000053" })).toEqual([53, 0n, 0n]);
    expect(read({ bytes_sent: "999999999999999" })).toEqual([0, 999_999_999_999_999n, 0n]);
    expect(read({ bytes_sent: "9007199254740991" })).toEqual([0, 9_007_199_254_740_991n, 0n]);
    expect(read({ bytes_sent: "9007199254740992" })).toBe(
      "bytes_sent 9007199254740992 is out of range 0..9007199254740991",
    );
    expect(read({ bytes_recv: "+5" })).toBe('bytes_recv "+5" is not a non-negative integer');
    expect(read({ bytes_recv: "1e3" })).toBe('bytes_recv "1e3" is not a non-negative integer');
    expect(read({ dest_port: "5.0" })).toBe('dest_port "5.0" is not a non-negative integer');
    expect(read({ dest_port: "-1" })).toBe('dest_port "-1" is not a non-negative integer');
  });
});

describe("eventFromCells()", () => {
  it("gives the event or error eventFromRecord gives for the same row, columns in any order", () => {
    const header = ["label", ...[...TELEMETRY_COLUMNS].reverse()];
    const at = columnIndex(header);
    const good = [
      "1",
      " SYSTEM ",
      "services.exe",
      "github.com",
      "UDP",
      "128",
      "64",
      "53",
      "dns.google",
      "8.8.8.8",
      "192.168.1.100",
      "a343f3f6e554",
      "C:\\svchost.exe",
      "2024-12-16T09:00:00Z",
    ];
    const variants = [
      good,
      good.map((c, i) => (header[i] === "dest_port" ? "fifty-three" : c)),
      good.map((c, i) => (header[i] === "dest_ip" ? "8.8.8" : c)),
      good.map((c, i) => (header[i] === "timestamp" ? "" : c)),
      good.map((c, i) => (header[i] === "timestamp" ? "yesterday" : c)),
      good.map((c, i) => (header[i] === "dest_ip" || header[i] === "dest_domain" ? "" : c)),
    ];
    const outcome = (f: () => unknown) => {
      try {
        return f();
      } catch (err) {
        return err;
      }
    };
    for (const cells of variants) {
      const record = Object.fromEntries(header.map((h, i) => [h, cells[i] as string]));
      const ours = outcome(() => eventFromCells(cells, at));
      expect(ours).toStrictEqual(outcome(() => eventFromRecord(record)));
    }
    expect(outcome(() => eventFromCells(variants[1] as string[], at))).toBeInstanceOf(CsvRowError);
  });

  it("reads a column the header lacks as an empty cell", () => {
    const header = TELEMETRY_COLUMNS.filter((c) => c !== "dns_query");
    const cells = header.map((c) =>
      c === "dest_ip" ? "10.0.0.1" : c === "dest_port" ? "443" : "",
    );
    expect(eventFromCells(cells, columnIndex(header))).toStrictEqual(
      eventFromRecord(Object.fromEntries(header.map((h, i) => [h, cells[i] as string]))),
    );
  });
});
