/**
 * `npm run soak -- --minutes N [--rate R] [--sample S] [--max-growth PCT] [--model FILE] [--out FILE]`:
 * runs the real server under a steady agent load for N minutes (fractions
 * allowed), prints RSS and event-loop delay over time and a verdict (RSS
 * growth from the end of the first minute to the end under 10 %, nothing
 * lost, clean exit), and writes bench/results/soak.json. Exit 0 on pass, 1 on
 * fail, 2 on bad flags.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./server-child.js";
import { formatSoakTable, runSoak } from "./soak.js";

const USAGE =
  "usage: npm run soak -- --minutes N [--rate R] [--sample S] [--max-growth PCT] [--model FILE] [--out FILE]";

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      strict: true,
      allowPositionals: false,
      options: {
        minutes: { type: "string" },
        rate: { type: "string" },
        sample: { type: "string" },
        "max-growth": { type: "string" },
        model: { type: "string" },
        out: { type: "string" },
      },
    }));
  } catch (e) {
    process.stderr.write(`soak: ${(e as Error).message} (${USAGE})\n`);
    return 2;
  }
  const num = (flag: string, fallback: number | undefined, ok: (n: number) => boolean) => {
    const text = values[flag];
    if (typeof text !== "string") return fallback;
    const n = Number(text);
    if (text.trim() === "" || !ok(n)) {
      throw new RangeError(`--${flag} out of range, got ${JSON.stringify(text)}`);
    }
    return n;
  };
  let minutes: number | undefined;
  let rate: number;
  let sample: number;
  let maxGrowth: number;
  try {
    minutes = num("minutes", undefined, (n) => n > 0 && n <= 24 * 60);
    rate = num("rate", 1000, (n) => n > 0 && n <= 1_000_000) as number;
    sample = num("sample", 5, (n) => n >= 0.5 && n <= 600) as number;
    maxGrowth = num("max-growth", 10, (n) => n > 0) as number;
  } catch (e) {
    process.stderr.write(`soak: ${(e as Error).message} (${USAGE})\n`);
    return 2;
  }
  if (minutes === undefined) {
    process.stderr.write(`soak: --minutes is required (${USAGE})\n`);
    return 2;
  }
  const durationS = minutes * 60;
  const out =
    typeof values.out === "string"
      ? resolve(values.out)
      : join(ROOT, "bench", "results", "soak.json");
  process.stdout.write(`soak: ${minutes} min at ${rate} events/s, sampling every ${sample} s\n`);
  let printedHead = false;
  const result = await runSoak({
    durationS,
    rate,
    sampleS: sample,
    maxGrowthPct: maxGrowth,
    ...(typeof values.model === "string" ? { model: resolve(values.model) } : {}),
    onSample: (s) => {
      const table = formatSoakTable([s]).split("\n");
      if (!printedHead) process.stdout.write(`${table[0]}\n`);
      printedHead = true;
      process.stdout.write(`${table[1]}\n`);
    },
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ ...result, finishedAt: new Date().toISOString(), node: process.version }, null, 2)}\n`,
  );
  const a = result.agent;
  process.stdout.write(
    [
      "",
      `RSS baseline ${result.baselineRssMb} MB (after warm-up), end ${result.endRssMb} MB, peak ${result.peakRssMb} MB: growth ${result.growthPct} % (bound ${result.maxGrowthPct} %)`,
      `worst event-loop delay p99 ${result.worstLoopDelayP99Ms} ms`,
      `agent: sent ${a.sent}, scored ${a.scored}, errors ${a.errors}, lost ${a.lost}, duplicates ${a.duplicates}, ${a.events_per_s} events/s, p99 ${a.latency_ms.p99} ms`,
      `server exit code ${result.serverExitCode}`,
      `verdict: ${result.pass ? "PASS" : "FAIL"}`,
      `wrote ${out}`,
      "",
    ].join("\n"),
  );
  return result.pass ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`soak: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
