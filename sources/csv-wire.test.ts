import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { columnIndex, eventFromCells } from "../telemetry/event-csv.js";
import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { createRandom, type Random } from "../test/fuzz-inputs.js";
import { RowEncoder } from "./csv-wire.js";
import { sourceNamed } from "./registry.js";
import type { SourceProblem } from "./source.js";

const TELEMETRY = join(import.meta.dirname, "../data/telemetry.csv");

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "netanomaly-csv-wire-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Cells that are in the common form, cells that are not, and cells that break a rule. */
const TRICKY: Partial<Record<(typeof TELEMETRY_COLUMNS)[number] | "any", string[]>> = {
  timestamp: [
    "",
    " ",
    "2024-12-16T09:00:00Z",
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00.001Z",
    "2099-12-28T23:59:59.999Z",
    " 2024-12-16T09:00:00Z ",
    "2024-12-31T23:59:59Z",
    "2024-02-30T00:00:00Z",
    "12/16/24 8:30",
    "1734336000",
    "1734336000.5",
    "2100-01-01T00:00:00Z",
    "yesterday",
    "2024-12-16",
    "2024-12-16T09:00:00+01:00",
  ],
  source_ip: [
    "",
    "10.0.0.1",
    "::1",
    "fe80::1%eth0",
    "1.2.3.04",
    "256.1.1.1",
    "1.2.3",
    " 1.2.3.4",
    "1.2.3.4 ",
    "0.0.0.0",
    "255.255.255.255",
    "1.2.3.4.5",
    "x".repeat(46),
  ],
  dest_ip: ["", "8.8.8.8", "2001:db8::1", "8.8.8", "08.8.8.8", "8.8.8.256", "8.8.8.8\t"],
  dest_port: [
    "",
    "0",
    "53",
    "0053",
    "65535",
    "65536",
    " 53",
    "5 3",
    "-1",
    "fifty",
    "000000000000000000053",
    "99999999999999999999999",
  ],
  bytes_sent: [
    "",
    "0",
    "7",
    "007",
    " 12 ",
    "999999999999999",
    "9007199254740991",
    "9007199254740992",
    "1e3",
    "18446744073709551616",
  ],
  bytes_recv: ["", "128", "1234567890123456", "-5"],
  protocol: ["", "TCP", "UDP", "x".repeat(32), "x".repeat(33)],
  dest_domain: ["", "dns.google", "x".repeat(253), "x".repeat(254), "bücher.de"],
  process_hash: ["", "a343f3f6e554", "x".repeat(128), "x".repeat(129)],
  any: [
    "",
    "a",
    " a",
    "a ",
    "\ta",
    "a\u00a0",
    "\u00a0",
    "é",
    "日本",
    "a\u0001b",
    "x".repeat(200),
    "\u2028",
    "\ufeffa",
  ],
};

/** A copy of a row of data/telemetry.csv with a few cells swapped for tricky ones. */
function mutateRow(r: Random, cells: readonly string[]): string[] {
  const out = [...cells];
  const changes = 1 + r.int(3);
  for (let k = 0; k < changes; k++) {
    const i = r.int(TELEMETRY_COLUMNS.length);
    const column = TELEMETRY_COLUMNS[i] as (typeof TELEMETRY_COLUMNS)[number];
    const own = TRICKY[column];
    out[i] = r.pick(own !== undefined && r.next() < 0.7 ? own : (TRICKY.any as string[]));
  }
  return out;
}

/** The indexes where two lists of encodings differ (toEqual on 20,000 byte arrays is slow). */
function differences(a: readonly (Uint8Array | Error)[], b: readonly (Uint8Array | Error)[]) {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    const same =
      x instanceof Uint8Array && y instanceof Uint8Array
        ? Buffer.from(x.buffer, x.byteOffset, x.length).equals(y)
        : false;
    if (!same) out.push(i);
  }
  return out;
}

async function telemetryRows(): Promise<string[][]> {
  const [, ...lines] = (await readFile(TELEMETRY, "utf8")).trim().split("\n");
  return lines.map((l) => l.split(","));
}

describe("RowEncoder.encodeLine()", () => {
  const at = columnIndex(TELEMETRY_COLUMNS);
  const outcome = (cells: string[]) => {
    try {
      return toBinary(NetworkEventSchema, eventFromCells(cells, at));
    } catch (err) {
      return err as Error;
    }
  };

  it("writes toBinary's bytes of eventFromCells' event for every row of data/telemetry.csv", async () => {
    const encoder = new RowEncoder();
    const rows = await telemetryRows();
    expect(rows.length).toBeGreaterThan(20_000);
    const ours = rows.map(
      (cells) => encoder.encodeLine(cells.join(","), cells.length, at) ?? new Error("declined"),
    );
    expect(differences(ours, rows.map(outcome))).toEqual([]);
  });

  it("writes those bytes, or declines, for 30,000 rows with malformed and unusual cells", async () => {
    const r = createRandom(22);
    const encoder = new RowEncoder();
    const rows = await telemetryRows();
    let declined = 0;
    const taken: Uint8Array[] = [];
    const expected: (Uint8Array | Error)[] = [];
    for (let k = 0; k < 30_000; k++) {
      const cells = mutateRow(r, r.pick(rows));
      const bytes = encoder.encodeLine(cells.join(","), cells.length, at);
      if (bytes === undefined) {
        declined++;
      } else {
        // Taken here only when the usual way makes an event, and then the same bytes.
        taken.push(bytes);
        expected.push(outcome(cells));
      }
    }
    expect(differences(taken, expected)).toEqual([]);
    const encoded = taken.length;
    // Both ways are exercised.
    expect(encoded).toBeGreaterThan(5_000);
    expect(declined).toBeGreaterThan(5_000);
  });

  it("reads every ISO 8601 form parseTimestamp reads, as parseTimestamp does", async () => {
    const r = createRandom(8);
    const encoder = new RowEncoder();
    const [cells] = await telemetryRows();
    const taken: Uint8Array[] = [];
    const expected: (Uint8Array | Error)[] = [];
    for (let k = 0; k < 20_000; k++) {
      // 1969..2101, so that the ends of the range are crossed both ways.
      const ms = Math.floor((r.next() * 132 - 1) * 365.25 * 86_400_000);
      let text = new Date(ms).toISOString();
      if (r.next() < 0.3) text = text.replace(/\.\d{3}Z$/, "Z");
      const row = (cells as string[]).map((c, i) => (i === 0 ? text : c));
      const bytes = encoder.encodeLine(row.join(","), row.length, at);
      if (bytes !== undefined) {
        taken.push(bytes);
        expected.push(outcome(row));
      }
    }
    expect(differences(taken, expected)).toEqual([]);
    expect(taken.length).toBeGreaterThan(19_000);
  });

  it("declines a line with more or fewer cells than the header, for the reader to report", async () => {
    const encoder = new RowEncoder();
    const [cells] = await telemetryRows();
    const line = (cells as string[]).join(",");
    expect(encoder.encodeLine(line, 13, at)).toBeInstanceOf(Uint8Array);
    expect(encoder.encodeLine(`${line},`, 13, at)).toBeUndefined();
    expect(encoder.encodeLine(line.slice(0, line.lastIndexOf(",")), 13, at)).toBeUndefined();
  });

  it("keeps earlier encodings intact when it moves to a new buffer", () => {
    const encoder = new RowEncoder();
    const long = TELEMETRY_COLUMNS.map((c) =>
      c === "dest_ip"
        ? "10.0.0.1"
        : c === "dest_port"
          ? "443"
          : c === "dns_query"
            ? "q".repeat(1000)
            : "",
    );
    const kept = Array.from(
      { length: 600 },
      () => encoder.encodeLine(long.join(","), long.length, at) as Uint8Array,
    );
    const expected = outcome(long);
    expect(
      differences(
        kept,
        kept.map(() => expected),
      ),
    ).toEqual([]);
  });
});

describe("csv source with encoded: true", () => {
  /** Everything the source gives, as bytes and labels, with its skips. */
  async function replay(path: string, encoded: boolean) {
    const skipped: SourceProblem[] = [];
    const events: { bytes: Uint8Array; label: string | undefined; encoded: boolean }[] = [];
    const objects: unknown[] = [];
    const source = sourceNamed("csv")?.open(
      { input: path, encoded },
      { signal: new AbortController().signal, onSkip: (p) => skipped.push(p), onNotice() {} },
    );
    for await (const e of source ?? []) {
      events.push({
        bytes: e.encoded ?? toBinary(NetworkEventSchema, e.event),
        label: e.label,
        encoded: e.encoded !== undefined,
      });
      objects.push(e.event);
    }
    return { events, skipped, objects };
  }

  it("gives the bytes, events and labels of the usual way for data/telemetry.csv", async () => {
    const wire = await replay(TELEMETRY, true);
    const plain = await replay(TELEMETRY, false);
    expect(wire.events.every((e) => e.encoded)).toBe(true);
    expect(plain.events.some((e) => e.encoded)).toBe(false);
    expect(wire.events.length).toBe(plain.events.length);
    expect(
      differences(
        wire.events.map((e) => e.bytes),
        plain.events.map((e) => e.bytes),
      ),
    ).toEqual([]);
    // `event`, decoded from the bytes when read, is the object the usual way makes.
    expect(wire.objects.slice(0, 2_000)).toStrictEqual(plain.objects.slice(0, 2_000));
    expect(wire.skipped).toEqual([]);
  });

  it("gives the same events, labels, skips and messages for a file of malformed rows", async () => {
    const r = createRandom(6);
    const rows = await telemetryRows();
    const lines = [`${TELEMETRY_COLUMNS.join(",")},label,scenario`];
    for (let k = 0; k < 5_000; k++) {
      const cells = mutateRow(r, r.pick(rows));
      const roll = r.next();
      // Some rows lose or gain a cell (skipped with their line), some are blank.
      if (roll < 0.03) cells.pop();
      else if (roll < 0.06) cells.push("extra");
      else if (roll < 0.08) cells.length = 0;
      lines.push(
        cells.length === 0
          ? ""
          : [...cells, r.pick(["0", "1", ""]), r.pick(["", "normal", "c2_beacon"])].join(","),
      );
    }
    const path = join(dir, "malformed.csv");
    await writeFile(path, `${lines.join("\n")}\n`);
    const wire = await replay(path, true);
    const plain = await replay(path, false);
    expect(wire.skipped.length).toBeGreaterThan(100);
    expect(wire.skipped).toEqual(plain.skipped);
    expect(wire.events.map((e) => e.label)).toEqual(plain.events.map((e) => e.label));
    expect(
      differences(
        wire.events.map((e) => e.bytes),
        plain.events.map((e) => e.bytes),
      ),
    ).toEqual([]);
    expect(wire.objects).toStrictEqual(plain.objects);
    const taken = wire.events.filter((e) => e.encoded).length;
    expect(taken).toBeGreaterThan(500);
    expect(taken).toBeLessThan(wire.events.length);
  });

  it("reads a header in another order, and a quoted file after the hand-over, as the usual way", async () => {
    const order = [...TELEMETRY_COLUMNS].reverse();
    const rows = (await telemetryRows()).slice(0, 300);
    const reorder = (cells: string[]) => order.map((c) => cells[TELEMETRY_COLUMNS.indexOf(c)]);
    const text = [order.join(","), ...rows.map((c) => reorder(c).join(","))];
    text.splice(200, 0, `"${text[199]?.replace(",", '","')}"`);
    const path = join(dir, "reordered.csv");
    await writeFile(path, `${text.join("\n")}\n`);
    const wire = await replay(path, true);
    const plain = await replay(path, false);
    expect(wire.skipped).toEqual(plain.skipped);
    expect(
      differences(
        wire.events.map((e) => e.bytes),
        plain.events.map((e) => e.bytes),
      ),
    ).toEqual([]);
    // The rows before the quoted line are taken straight; csv-parse reads the rest as records.
    expect(wire.events.filter((e) => e.encoded).length).toBe(199);
  });
});
