import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readLines } from "../sources/lines.js";
import { osquerySource } from "../sources/osquery/osquery.js";
import type { Source, SourceContext } from "../sources/source.js";
import { suricataSource } from "../sources/suricata/suricata.js";
import { sysmonSource } from "../sources/sysmon/sysmon.js";
import { zeekSource } from "../sources/zeek/zeek.js";
import { connLogLines, eveLines, osqueryLines, sysmonLines } from "./log-fixtures.js";
import { fmt, type TableRow, verdict } from "./report.js";
import { type Rates, type Summary, summarize } from "./stats.js";

/** Options of `runLogReadersBench`. */
export interface LogReadersBenchOptions {
  /** Lines in each generated log; default 200,000. */
  lines?: number;
  /** Timed runs per measurement (after one warm-up); default 5. */
  repeats?: number;
}

/** One reader's rates over its generated log, in input lines per second. */
export interface ReaderResult {
  source: string;
  /** What the floor does with each line: `JSON.parse` or `split("\t")`. */
  floorKind: string;
  lines: number;
  /** Events the reader produced from those lines. */
  events: number;
  /** `readLines` alone: reading and splitting the file. */
  read: Rates;
  /** `readLines`, then the plain parse of each line: the floor a reader cannot beat. */
  floor: Rates;
  /** The reader, end to end (`source.open` over the file). */
  reader: Rates;
  /** reader ÷ floor, CPU rates, run by run. */
  ofFloor: Summary;
}

/** Results of the log-reader benchmark. */
export interface LogReadersResults {
  lines: number;
  repeats: number;
  readers: ReaderResult[];
}

/** The goals, input lines per second per core. */
export const LOG_READER_GOALS: Record<string, number> = { zeek: 200_000, suricata: 100_000 };

const READERS: {
  source: Source;
  file: string;
  make: (n: number) => string[];
  floorKind: "JSON.parse" | 'split("\\t")';
}[] = [
  { source: zeekSource, file: "conn.log", make: connLogLines, floorKind: 'split("\\t")' },
  { source: suricataSource, file: "eve.json", make: eveLines, floorKind: "JSON.parse" },
  { source: sysmonSource, file: "sysmon.json", make: sysmonLines, floorKind: "JSON.parse" },
  {
    source: osquerySource,
    file: "osqueryd.results.log",
    make: osqueryLines,
    floorKind: "JSON.parse",
  },
];

/**
 * Times each log reader (Zeek, Suricata, Sysmon, osquery) over a generated
 * file of `lines` lines in this process (one core), side by side with the
 * floor: the same file through `readLines` with a plain `JSON.parse` (or
 * `split("\t")` for Zeek's TSV) per line, and `readLines` alone. Rates are
 * input lines per second, by wall clock and per CPU-second; medians over
 * `repeats` runs taken in turn (read, floor, reader), after one warm-up.
 */
export async function runLogReadersBench(
  options: LogReadersBenchOptions = {},
): Promise<LogReadersResults> {
  const n = options.lines ?? 200_000;
  const repeats = options.repeats ?? 5;
  const dir = await mkdtemp(join(tmpdir(), "netanomaly-log-bench-"));
  const readers: ReaderResult[] = [];
  try {
    for (const r of READERS) {
      const path = join(dir, r.file);
      const lines = r.make(n);
      await writeFile(path, `${lines.join("\n")}\n`);
      const total = lines.length;
      let events = 0;
      const runRead = async () => {
        let k = 0;
        for await (const l of readLines(path, {}, quietContext())) k += l.text.length;
        return k;
      };
      const runFloor =
        r.floorKind === "JSON.parse"
          ? async () => {
              let k = 0;
              for await (const l of readLines(path, {}, quietContext())) {
                const v = JSON.parse(l.text) as Record<string, unknown>;
                if (v.event_type !== undefined || v.winlog !== undefined) k++;
              }
              return k;
            }
          : async () => {
              let k = 0;
              for await (const l of readLines(path, {}, quietContext()))
                k += l.text.split("\t").length;
              return k;
            };
      const runReader = async () => {
        let k = 0;
        for await (const _ of r.source.open({ input: path }, quietContext())) k++;
        events = k;
        return k;
      };
      const runs = { read: newRuns(), floor: newRuns(), reader: newRuns() };
      await runRead();
      await runFloor();
      await runReader();
      for (let i = 0; i < repeats; i++) {
        pushRun(runs.read, await timeAsync(total, runRead));
        pushRun(runs.floor, await timeAsync(total, runFloor));
        pushRun(runs.reader, await timeAsync(total, runReader));
      }
      readers.push({
        source: r.source.name,
        floorKind: r.floorKind,
        lines: total,
        events,
        read: rates(runs.read),
        floor: rates(runs.floor),
        reader: rates(runs.reader),
        ofFloor: summarize(runs.reader.cpu.map((x, i) => x / (runs.floor.cpu[i] as number))),
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { lines: n, repeats, readers };
}

/** The results as benchmark table rows, the goals checked on CPU rates (lines/s per core). */
export function logReadersRows(results: LogReadersResults): TableRow[] {
  const rows: TableRow[] = [];
  for (const r of results.readers) {
    const goal = LOG_READER_GOALS[r.source];
    rows.push({
      id: `log-reader-${r.source}`,
      what: `${r.source} reader, ${r.lines} lines → ${r.events} events (lines/s per core)`,
      value: fmt(r.reader.cpu, "lines/s"),
      goal: goal === undefined ? "" : `≥ ${goal / 1000}k lines/s`,
      verdict: goal === undefined ? "" : verdict(r.reader.cpu.median, "min", goal),
    });
    rows.push({
      id: `log-reader-${r.source}-floor`,
      what: `  floor: readLines + ${r.floorKind} (readLines alone ${fmt(r.read.cpu)})`,
      value: fmt(r.floor.cpu, "lines/s"),
      goal: "",
      verdict: "",
    });
    rows.push({
      id: `log-reader-${r.source}-of-floor`,
      what: "  reader ÷ floor",
      value: fmt(r.ofFloor, "", (x) => x.toFixed(2)),
      goal: "",
      verdict: "",
    });
  }
  return rows;
}

function quietContext(): SourceContext {
  return { signal: new AbortController().signal, onSkip: () => {}, onNotice: () => {} };
}

type Runs = { wall: number[]; cpu: number[] };

function newRuns(): Runs {
  return { wall: [], cpu: [] };
}

function pushRun(runs: Runs, r: { wall: number; cpu: number }): void {
  runs.wall.push(r.wall);
  runs.cpu.push(r.cpu);
}

function rates(runs: Runs): Rates {
  return { wall: summarize(runs.wall), cpu: summarize(runs.cpu) };
}

/** One timed run of `f`: items per wall-clock second and per CPU second of this process. */
async function timeAsync(
  items: number,
  f: () => Promise<unknown>,
): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await f();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { wall: items / seconds, cpu: items / ((c.user + c.system) / 1e6) };
}
