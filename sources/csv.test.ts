import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCsvRows } from "./csv-rows.js";
import { sourceNamed } from "./registry.js";
import type { SourceEvent, SourceProblem } from "./source.js";

const here = new URL(".", import.meta.url).pathname;

async function collect(path: string) {
  const skipped: SourceProblem[] = [];
  const events: SourceEvent[] = [];
  const source = sourceNamed("csv")?.open(
    { input: path },
    { signal: new AbortController().signal, onSkip: (p) => skipped.push(p), onNotice() {} },
  );
  for await (const e of source ?? []) events.push(e);
  return { events, skipped };
}

const HEADER =
  "timestamp,process_path,process_hash,source_ip,dest_ip,dest_domain,dest_port,bytes_sent,bytes_recv,protocol,dns_query,parent_process,user_context";

describe("csv source", () => {
  it("replays data/telemetry.csv in full, unlabelled", async () => {
    const { events, skipped } = await collect(join(here, "../data/telemetry.csv"));
    expect(skipped).toEqual([]);
    expect(events.length).toBeGreaterThanOrEqual(20_000);
    expect(events[0]?.label).toBeUndefined();
    expect(events[0]?.event.processPath).toMatch(/^C:\\/);
  });

  it("skips unencodable rows with their line numbers and passes rule-breaking rows on", async () => {
    const path = join(here, "testdata/replay-small.csv");
    const { events, skipped } = await collect(path);
    expect(skipped.map((s) => s.where)).toEqual([`${path}:5`, `${path}:8`]);
    expect(skipped[0]?.message).toMatch(/dest_port "fifty-three" is not a non-negative integer/);
    expect(events.map((e) => e.label)).toEqual([
      "normal",
      "normal",
      "exfiltration",
      "normal",
      "normal",
      "normal",
    ]);
    expect(events[2]?.event.bytesSent).toBe(900_000_000n);
    // Port 70000 breaks a contract rule, not the encoding: it is sent for the server to reject.
    expect(events[3]?.event.destPort).toBe(70_000);
    expect(events[4]?.event.processPath).toBe("C:\\Program Files\\Slack\\slack.exe");
  });

  it("takes labels from a label column when there is no scenario column", async () => {
    const path = join(tmpdir(), `netanomaly-replay-${process.pid}.csv`);
    await writeFile(
      path,
      `${HEADER},label\n2024-12-16T09:00:00Z,a.exe,,,,,1,1,1,TCP,,,,0\n2024-12-16T09:00:00Z,b.exe,,,,,1,1,1,TCP,,,,1\n`,
    );
    const { events } = await collect(path);
    expect(events.map((e) => e.label)).toEqual(["normal", "attack"]);
  });

  it("rejects a header without every telemetry column", async () => {
    const path = join(tmpdir(), `netanomaly-replay-bad-${process.pid}.csv`);
    await writeFile(path, "timestamp,process_path\n2024-12-16T09:00:00Z,a.exe\n");
    await expect(collect(path)).rejects.toThrow(/header lacks column\(s\) process_hash/);
  });

  it("names a missing file in one line", async () => {
    await expect(collect("/nonexistent/missing.csv")).rejects.toThrow(
      /^data file \/nonexistent\/missing\.csv does not exist$/,
    );
  });

  it("reads a CRLF file with one LF row appended row for row, with the trainer's line numbers", async () => {
    // The seed CSV has Windows line endings; a new user appended a row with Unix ones.
    const seed = await readFile(join(here, "../trainer/testdata/seed.csv"), "utf8");
    const crlf = `${seed.trimEnd().replace(/\r?\n/g, "\r\n")}\r\n`;
    const lines = crlf.split("\r\n").filter((l) => l !== "");
    const appended = `${crlf}${lines[1]}\n`;
    const path = join(tmpdir(), `netanomaly-mixed-${process.pid}.csv`);
    await writeFile(path, appended);
    const { events, skipped } = await collect(path);
    const trainerLines: number[] = [];
    for await (const row of readCsvRows(path, { onSkip: (s) => trainerLines.push(s.line) }))
      trainerLines.push(row.line);
    expect(skipped).toEqual([]);
    expect(events).toHaveLength(lines.length);
    expect(trainerLines).toHaveLength(lines.length);
    expect(events.at(-1)?.event.processPath).toBe(events[0]?.event.processPath);
  });

  it("reports events and skips in file order across read chunks and a hand-over to csv-parse", async () => {
    // 6,000 rows (several 64 KiB chunks); every 7th is short (skipped by the reader), every
    // 11th has an unreadable port (skipped by the source), and a quoted cell at row 4,000
    // hands the rest to csv-parse.
    const lines = [HEADER];
    const expected: string[] = [];
    const path = join(tmpdir(), `netanomaly-replay-order-${process.pid}.csv`);
    for (let i = 0; i < 6000; i++) {
      const line = i + 2;
      const name = i === 4000 ? '"quoted,app.exe"' : `app${i}.exe`;
      if (i % 7 === 3) {
        lines.push(`2024-12-16T09:00:00Z,${name},1`);
        expected.push(`skip ${path}:${line}`);
      } else if (i % 11 === 5) {
        lines.push(`2024-12-16T09:00:00Z,${name},,,,,port,1,1,TCP,,,`);
        expected.push(`skip ${path}:${line}`);
      } else {
        lines.push(`2024-12-16T09:00:00Z,${name},,,8.8.8.8,,53,1,1,UDP,,,`);
        expected.push(`event ${i === 4000 ? "quoted,app.exe" : name}`);
      }
    }
    await writeFile(path, `${lines.join("\n")}\n`);
    const trace: string[] = [];
    const source = sourceNamed("csv")?.open(
      { input: path },
      {
        signal: new AbortController().signal,
        onSkip: (p) => trace.push(`skip ${p.where}`),
        onNotice() {},
      },
    );
    for await (const e of source ?? []) trace.push(`event ${e.event.processPath}`);
    expect(trace).toEqual(expected);
  });

  it("stops reading when the consumer breaks off", async () => {
    const source = sourceNamed("csv")?.open(
      { input: join(here, "../data/telemetry.csv") },
      { signal: new AbortController().signal, onSkip() {}, onNotice() {} },
    );
    const it = source?.[Symbol.asyncIterator]();
    expect((await it?.next())?.done).toBe(false);
    expect(await it?.return?.()).toEqual({ value: undefined, done: true });
    expect((await it?.next())?.done).toBe(true);
  });
});

describe("sim source", () => {
  it("yields labelled simulator events until aborted", async () => {
    const stop = new AbortController();
    const got: SourceEvent[] = [];
    for await (const e of sourceNamed("sim")?.open(
      { seed: 1, anomalyRate: 1 },
      { signal: stop.signal, onSkip() {}, onNotice() {} },
    ) ?? []) {
      got.push(e);
      if (got.length === 3) stop.abort();
    }
    expect(got).toHaveLength(3);
    expect(got[0]?.label).not.toBe("normal");
  });
});
