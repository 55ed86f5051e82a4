import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { eventFromRecord } from "../telemetry/event-csv.js";
import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { SCENARIOS } from "../telemetry/simulator.js";
import { csvCell, EVAL, evaluationCsv, TRAIN, trainingCsv } from "./generate-data.js";

describe("csvCell()", () => {
  it("quotes cells with commas, quotes or line breaks and leaves others alone", () => {
    expect(csvCell("C:\\Windows\\System32\\svchost.exe")).toBe(
      "C:\\Windows\\System32\\svchost.exe",
    );
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell("x\ny")).toBe('"x\ny"');
  });
});

describe("trainingCsv()", () => {
  it("holds at least 20,000 valid normal rows over at least 7 days from 6 or more hosts", () => {
    const { text, rows } = trainingCsv();
    const records = parse(text, { columns: true }) as Record<string, string>[];
    expect(Object.keys(records[0] ?? {})).toEqual([...TELEMETRY_COLUMNS]);
    expect(records.length).toBe(rows);
    expect(rows).toBeGreaterThanOrEqual(20_000);
    const events = records.map((r) => eventFromRecord(r));
    const first = Number(events[0]?.timestamp?.seconds);
    const last = Number(events.at(-1)?.timestamp?.seconds);
    expect(last - first).toBeGreaterThan(7 * 86_400 - 3_600);
    expect(first * 1000).toBeGreaterThanOrEqual(TRAIN.startMs);
    expect(new Set(events.map((e) => e.sourceIp)).size).toBeGreaterThanOrEqual(6);
  });

  it("is the same on every run", () => {
    expect(trainingCsv().text).toBe(trainingCsv().text);
  });
});

describe("evaluationCsv()", () => {
  it("labels about 20,000 normal rows and at least 300 rows of every scenario", () => {
    const { text, counts } = evaluationCsv();
    const records = parse(text, { columns: true }) as Record<string, string>[];
    expect(counts.normal).toBe(EVAL.normal);
    for (const s of SCENARIOS) expect(counts[s], s).toBeGreaterThanOrEqual(EVAL.perScenario);
    for (const r of records) {
      expect(r.label).toBe(r.scenario === "normal" ? "0" : "1");
      eventFromRecord(r);
    }
  });

  it("gives a fresh labelled set for another seed, with every scenario again", () => {
    const bundled = evaluationCsv();
    const fresh = evaluationCsv(EVAL.seed + 1000);
    expect(fresh.text).not.toBe(bundled.text);
    expect(fresh.counts.normal).toBeGreaterThanOrEqual(EVAL.normal);
    for (const s of SCENARIOS) expect(fresh.counts[s], s).toBeGreaterThanOrEqual(EVAL.perScenario);
  });
});
