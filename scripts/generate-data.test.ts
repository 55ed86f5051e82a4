import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { UsageError } from "../cli/usage-error.js";
import { eventFromRecord } from "../telemetry/event-csv.js";
import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { SCENARIOS } from "../telemetry/simulator.js";
import {
  csvCell,
  EVAL,
  evaluationCsv,
  parseGenerateArgs,
  TRAIN,
  trainingCsv,
} from "./generate-data.js";

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

describe("trainingCsv() options", () => {
  it("writes one day with --days 1 and stops at --rows", () => {
    const day = trainingCsv({ days: 1 });
    const records = parse(day.text, { columns: true }) as Record<string, string>[];
    expect(records.length).toBe(day.rows);
    expect(records.every((r) => r.timestamp?.startsWith("2024-12-02"))).toBe(true);
    expect(day.rows).toBeGreaterThan(1000);
    const capped = trainingCsv({ rows: 100 });
    expect(capped.rows).toBe(100);
    expect(capped.text).toBe(`${day.text.split("\n").slice(0, 101).join("\n")}\n`);
  });

  it("gives other rows for another --seed", () => {
    expect(trainingCsv({ rows: 50, seed: 9 }).text).not.toBe(trainingCsv({ rows: 50 }).text);
  });
});

describe("evaluationCsv() options", () => {
  it("sizes the labelled set by --eval-normal and --eval-per-scenario", () => {
    const { counts } = evaluationCsv(EVAL.seed, { normal: 500, perScenario: 5 });
    expect(counts.normal).toBeGreaterThanOrEqual(500);
    expect(counts.normal).toBeLessThan(EVAL.normal);
    for (const s of SCENARIOS) expect(counts[s], s).toBeGreaterThanOrEqual(5);
  });
});

describe("parseGenerateArgs()", () => {
  it("defaults to the bundled sets", () => {
    expect(parseGenerateArgs([])).toEqual({
      help: false,
      out: "data",
      train: { seed: TRAIN.seed, days: TRAIN.days, rows: Number.MAX_SAFE_INTEGER },
      evalSeed: EVAL.seed,
      evaluation: { normal: EVAL.normal, perScenario: EVAL.perScenario },
    });
  });

  it("reads every flag and --help", () => {
    const args = parseGenerateArgs(
      ["--out", "/tmp/x", "--seed", "5", "--days", "2", "--rows", "900", "--eval-seed", "7"].concat(
        ["--eval-normal", "1000", "--eval-per-scenario", "10", "--help"],
      ),
    );
    expect(args).toEqual({
      help: true,
      out: "/tmp/x",
      train: { seed: 5, days: 2, rows: 900 },
      evalSeed: 7,
      evaluation: { normal: 1000, perScenario: 10 },
    });
    expect(parseGenerateArgs(["-h"]).help).toBe(true);
  });

  it.each([
    [["--days", "0"], "--days must be an integer in [1, 366], got 0"],
    [["--rows", "many"], "--rows must be an integer in [1, 9007199254740991], got many"],
    [["--hosts", "3"], "unknown flag --hosts"],
  ])("rejects %j with a usage error", (argv, message) => {
    expect(() => parseGenerateArgs(argv)).toThrow(new UsageError(message));
  });
});

describe("npm run generate:data", () => {
  it("prints --help on stdout and exits 0, and names a bad flag in one line with exit 2", async () => {
    const run = promisify(execFile);
    const help = await run(process.execPath, [
      "--import",
      "tsx",
      "scripts/generate-data.ts",
      "--help",
    ]);
    expect(help.stdout).toContain("--rows N");
    expect(help.stdout).toContain("--eval-per-scenario N");
    const bad = await run(process.execPath, [
      "--import",
      "tsx",
      "scripts/generate-data.ts",
      "--days",
      "x",
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({
      code: 2,
      stderr:
        "generate-data: --days must be an integer in [1, 366], got x (--help lists every flag)\n",
    });
  });
});
