/**
 * The transport section's fast-path row for two or more builds of the
 * server, taken in turn: server CPU per unary `Score` call under the
 * section's h2load load (16 connections × 4 streams, h2load on core 1,
 * servers on core 0), each repeat running the `node:http2` floor, every
 * build's compiled server and the floor doing our work
 * (`http2-floor-work.ts`) one after the other. The before/after check of a
 * change to the plumbing: turns share the machine's spells of load, which
 * whole `npm run bench` runs made minutes apart do not.
 *
 *   git archive <rev> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/
 *   (cd /tmp/before && npm run build) && npm run build
 *   node --import tsx bench/transport-ab.ts 9 2 /tmp/before .
 *
 * Arguments: repeats, seconds per run, then the directories holding each
 * build's `dist/` (the first is the baseline). Prints each target's server
 * µs per call (median, min–max) and its ÷ floor, repeat by repeat, median.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { ensureH2load } from "./h2load-bench.js";
import { type ServerProcess, startServing } from "./server-process.js";
import { spread, summarize } from "./stats.js";
import { h2loadRun } from "./unary-section.js";

const MODEL = "models/default.model.json";

async function main(): Promise<void> {
  const [repeatsArg, secondsArg, ...dirs] = process.argv.slice(2);
  const repeats = Number(repeatsArg);
  const seconds = Number(secondsArg);
  if (!(repeats >= 1) || !(seconds >= 1) || dirs.length === 0) {
    console.error("usage: bench/transport-ab.ts REPEATS SECONDS DIR [DIR...]");
    process.exit(2);
  }
  const h2load = await ensureH2load((line) => console.error(line));
  if (h2load === undefined) throw new Error("bench/transport-ab.ts needs h2load");
  const pinned = availableParallelism() >= 2;
  const serverCore = pinned ? ["taskset", "-c", "0"] : [];
  const loadCore = pinned ? ["taskset", "-c", "1"] : [];
  const model = resolve(MODEL);
  const script =
    (file: string, args: string[] = []) =>
    (port: number) => [
      ...serverCore,
      ...["node", "--import", "tsx", file, "--port", String(port), ...args],
    ];
  const targets: { label: string; command: (port: number) => string[] }[] = [
    { label: "floor", command: script("bench/http2-floor.ts") },
    ...dirs.map((dir) => ({
      label: dir,
      command: (port: number) => [
        ...serverCore,
        ...["node", resolve(dir, "dist/server/main.js"), "--host", "127.0.0.1"],
        ...["--port", String(port), "--model", model, "--log-level", "warn"],
      ],
    })),
    {
      label: "floor doing our work",
      command: script("bench/http2-floor-work.ts", ["--model", model]),
    },
  ];
  const servers: ServerProcess[] = [];
  const micros = targets.map(() => [] as number[]);
  try {
    for (const t of targets) servers.push(await startServing(t.command, t.label));
    for (let i = 0; i < repeats; i++) {
      const line: string[] = [];
      for (const [k, s] of servers.entries()) {
        const r = await h2loadRun(h2load, s, 4, seconds, loadCore);
        if (r.failed > 0 || r.succeeded === 0) {
          throw new Error(`${targets[k]?.label}: h2load got ${r.failed} failures`);
        }
        micros[k]?.push(r.serverCpuMicrosPerCall);
        line.push(r.serverCpuMicrosPerCall.toFixed(0));
      }
      console.log(`repeat ${i + 1}: ${line.join(" | ")} µs/call`);
    }
  } finally {
    for (const s of servers) await s.stop();
  }
  const floor = micros[0] as number[];
  for (const [k, t] of targets.entries()) {
    const runs = micros[k] as number[];
    const ratio = summarize(runs.map((v, i) => v / (floor[i] as number))).median;
    console.log(
      `${t.label}: ${spread(summarize(runs), (x) => x.toFixed(0))} µs/call; ÷ floor ${ratio.toFixed(2)}×`,
    );
  }
  console.log(`load average at end: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
