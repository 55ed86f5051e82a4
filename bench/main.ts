/**
 * The performance benchmark: `npm run bench [-- --quick] [-- --repeats N] [-- --only a,b]`.
 *
 * Sections (all on 127.0.0.1, every load bounded by `timeout`):
 * - engine: the scoring kernel in process on the telemetry feature vector,
 *   against scikit-learn's `score_samples` on the same matrix, one thread each;
 * - bigforest (run with engine, or alone): scoring with 500 trees × ψ 10,000
 *   on NSL-KDD and our telemetry features, against scikit-learn (one thread)
 *   and isotree (all cores);
 * - fit: growing a forest (100 × 256 and 500 × 10,000) on NSL-KDD and on our
 *   telemetry features, against isotree and scikit-learn, one thread each;
 * - footprint: spawn-to-SERVING time under tsx and compiled, RSS;
 * - stream: StreamScore over one HTTP/2 connection, batched and one event
 *   per message, latency at half the maximum rate, and the real agent;
 * - agent: the agent's CPU per event sent (simulated and replayed) beside
 *   the server's in the same runs;
 * - unary: Score under ghz with 16–50 concurrent calls, and under h2load,
 *   against one server process and against `--workers 2`;
 * - scaling: the engine against trees, ψ and feature width; the server
 *   against concurrent streams and batch size;
 * - sources: flow decoding, the log readers against a plain parse, and the
 *   host collector's CPU at 100 and 1,000 new connections/s;
 * - metrics: StreamScore with `--metrics` on and off;
 * - kafka: events/s through Kafka with one and two scorers.
 *
 * Prints one Markdown table (medians with min–max over the repeats) and
 * writes everything to bench/results/bench-<time>.json.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { parseArgs, promisify } from "node:util";
import { runAgentCpuBench } from "./agent-cpu-bench.js";
import { bigForestRows, runBigForestBench } from "./big-forest-bench.js";
import { readCpuTicks, stealShare } from "./cpu-steal.js";
import { type EngineResults, runEngineBench } from "./engine-bench.js";
import { createEngineFixture } from "./engine-fixture.js";
import { fitRows, runFitBench } from "./fit-bench.js";
import { runKafkaSection, runMetricsSection } from "./operations-section.js";
import { ensurePythonEnv } from "./quality/python-env.js";
import { fixed, fmt, fmtRates, renderTable, type TableRow, verdict } from "./report.js";
import { runEngineScaling } from "./scaling-bench.js";
import {
  type ServerMode,
  type ServerProcess,
  serverCommand,
  startServer,
  startServing,
} from "./server-process.js";
import { runSourcesSection } from "./sources-section.js";
import { si, summarize } from "./stats.js";
import { runAgentProcess, runStreamLoadProcess, streamLoadCommand } from "./stream-bench.js";
import { ensureSklearn } from "./tools.js";
import { runTransportSection } from "./transport-section.js";
import { runUnarySection } from "./unary-section.js";

const run = promisify(execFile);
const ROOT = new URL("..", import.meta.url).pathname;
const MODEL = "models/default.model.json";
const SECTIONS = [
  "engine",
  "bigforest",
  "fit",
  "footprint",
  "stream",
  "agent",
  "unary",
  "transport",
  "scaling",
  "sources",
  "metrics",
  "kafka",
] as const;

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      repeats: { type: "string" },
      only: { type: "string" },
    },
  });
  const quick = values.quick === true;
  const repeats = Number(values.repeats ?? 5);
  const only = new Set(values.only ? values.only.split(",") : SECTIONS);
  const secs = quick ? 2 : 4;
  const rows: TableRow[] = [];
  const commands: string[] = [];
  const results: Record<string, unknown> = {};
  const machine = {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    node: process.version,
    loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    loadAvgAtEnd: [] as number[],
    stealShare: undefined as number | undefined,
    stealBySection: {} as Record<string, number | undefined>,
    quick,
    repeats,
  };
  log(
    `${machine.date}, ${machine.nproc} × ${machine.cpu}, node ${machine.node}, load ${machine.loadAvgAtStart}`,
  );

  // CPU steal per section: the hypervisor's share of this VM's CPU time.
  const ticksAtStart = readCpuTicks();
  const steal: Record<string, number | undefined> = {};
  let sectionName = "";
  let sectionTicks = ticksAtStart;
  const section = (name: string) => {
    const now = readCpuTicks();
    if (sectionName !== "") steal[sectionName] = stealShare(sectionTicks, now);
    sectionName = name;
    sectionTicks = now;
    if (name !== "") log(name);
  };

  let engine: EngineResults | undefined;
  if (only.has("engine") || only.has("scaling")) {
    const python = only.has("engine") ? await ensureSklearn(ROOT, log) : undefined;
    section("engine");
    engine = await runEngineBench({ repeats, scoreEvents: quick ? 20_000 : 50_000, python });
    results.engine = engine;
  }
  if (engine && only.has("engine")) {
    const e = engine;
    const shape = `${e.nTrees} trees, ψ ${e.maxSamples}, ${e.nFeatures} features, ${si(e.rows)} rows`;
    rows.push(
      {
        id: "engine.wasm",
        what: `forest, WebAssembly kernel, rows/s (${shape}${e.sklearn ? `; ${e.forest.wasm.wall.runs.length} runs, in turn with row 3's` : ""})`,
        value: fmtRates(e.forest.wasm, ""),
        goal: "≥ 500k",
        verdict: verdict(e.forest.wasm.wall.median, "min", 500_000),
      },
      {
        id: "engine.js",
        what: "forest, JS kernel (fallback), rows/s",
        value: fmtRates(e.forest.js, ""),
        goal: "",
        verdict: "",
      },
    );
    if (e.sklearn) {
      const { ratio } = e.sklearn;
      const times = (x: number) => `${x.toFixed(2)}×`;
      rows.push(
        {
          id: "engine.sklearn",
          what: `scikit-learn ${e.sklearn.sklearn} score_samples, same rows, 1 thread, rows/s`,
          value: fmtRates(e.sklearn.rowsPerSecond, ""),
          goal: "",
          verdict: "",
        },
        {
          id: "engine.ratio",
          what: "ratio WebAssembly kernel / scikit-learn, pair by pair",
          value: fmtRates(ratio, "", times),
          goal: "≥ 6×",
          verdict: verdict(ratio.wall.median, "min", 6),
        },
      );
      commands.push(e.sklearn.command);
    } else {
      rows.push({
        id: "engine.sklearn",
        what: "scikit-learn",
        value: "unavailable",
        goal: "",
        verdict: "",
      });
    }
    rows.push(
      {
        id: "engine.single",
        what: "one row, forest.scoreRow (WebAssembly), µs",
        value: fmt(e.singleRowMicros.wasm.wall, "µs", fixed(2)),
        goal: "≤ 5 µs",
        verdict: verdict(e.singleRowMicros.wasm.wall.median, "max", 5),
      },
      {
        id: "engine.singleEvent",
        what: "one event, detector.score (featurize + score), µs",
        value: fmt(e.singleEventMicros.wall, "µs", fixed(2)),
        goal: "(≤ 5 µs)",
        verdict: verdict(e.singleEventMicros.wall.median, "max", 5),
      },
      {
        id: "engine.explainedEvent",
        what: "one event scored and explained (unary Score): scoreAndExplain vs score + explain, µs",
        value: `${fmt(e.explainedEventMicros.fused.wall, "µs", fixed(2))} vs ${e.explainedEventMicros.separate.wall.median.toFixed(2)}`,
        goal: "",
        verdict: "",
      },
      {
        id: "engine.featurize",
        what: "featurization only (event → 26 doubles), events/s",
        value: fmtRates(e.featurize, ""),
        goal: "",
        verdict: "",
      },
      {
        id: "engine.detector",
        what: "detector.scoreBatch (featurize + score, batches of 1000), events/s",
        value: fmtRates(e.detectorBatch, ""),
        goal: "",
        verdict: "",
      },
    );
  }

  if (only.has("engine") || only.has("bigforest")) {
    let python: string | undefined;
    try {
      python = await ensurePythonEnv(log);
    } catch (e) {
      log(
        `bigforest: isotree and scikit-learn unavailable: ${(e as Error).message.split("\n")[0]}`,
      );
    }
    section("bigforest");
    const big = await runBigForestBench({
      root: ROOT,
      repeats: quick ? 2 : repeats,
      scoreEvents: quick ? 20_000 : 50_000,
      python,
      log,
    });
    results.bigForest = big;
    rows.push(...bigForestRows(big));
    if (big.command) commands.push(big.command);
  }

  if (only.has("fit")) {
    let python: string | undefined;
    try {
      python = await ensurePythonEnv(log);
    } catch (e) {
      log(`fit: isotree and scikit-learn unavailable: ${(e as Error).message.split("\n")[0]}`);
    }
    section("fit");
    const fit = await runFitBench({ root: ROOT, repeats: quick ? 3 : repeats, python, log });
    results.fit = fit;
    rows.push(...fitRows(fit));
    if (fit.command) commands.push(fit.command);
  }

  // The compiled server is what the container runs; build it once.
  let built = false;
  if (
    only.has("footprint") ||
    only.has("stream") ||
    only.has("agent") ||
    only.has("unary") ||
    only.has("transport") ||
    only.has("scaling")
  ) {
    log("npm run build");
    try {
      await run("timeout", ["300", "npm", "run", "build"], { cwd: ROOT, maxBuffer: 1 << 24 });
      built = true;
    } catch (err) {
      log(
        `build failed, load tests use tsx: ${(err as Error).message.split("\n").slice(0, 3).join(" ")}`,
      );
    }
  }
  const loadMode: ServerMode = built ? "compiled" : "tsx";

  if (only.has("footprint")) {
    section("footprint");
    const modes: ServerMode[] = built ? ["tsx", "compiled"] : ["tsx"];
    const footprint: Record<string, unknown> = {};
    for (const mode of modes) {
      const ready: number[] = [];
      const rss: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const s = await startServer(mode, MODEL, { cwd: ROOT });
        ready.push(s.readyMs);
        rss.push((await s.memory()).rssMb);
        await s.stop();
      }
      footprint[mode] = { readyMs: summarize(ready), idleRssMb: summarize(rss) };
      rows.push(
        {
          id: `footprint.ready.${mode}`,
          what: `spawn → health SERVING, ${mode} (${serverCommand(mode, 0, MODEL)
            .slice(0, mode === "tsx" ? 4 : 2)
            .join(" ")}), ms`,
          value: fmt(summarize(ready), "ms", fixed(0)),
          goal: "≤ 1000 ms",
          verdict: verdict(summarize(ready).median, "max", 1000),
        },
        {
          id: `footprint.idleRss.${mode}`,
          what: `RSS when ready, ${mode}, MB`,
          value: fmt(summarize(rss), "MB", fixed(0)),
          goal: "",
          verdict: "",
        },
      );
    }
    results.footprint = footprint;
  }

  let server: ServerProcess | undefined;
  const ensureServer = async (): Promise<ServerProcess> => {
    if (!server) {
      server = await startServer(loadMode, MODEL, { cwd: ROOT });
      commands.push(`server: ${serverCommand(loadMode, server.port, MODEL).join(" ")}`);
    }
    return server;
  };

  try {
    if (only.has("stream")) {
      section("stream");
      const s = await ensureServer();
      const stream: Record<string, unknown> = {};
      const rep = async (o: Parameters<typeof runStreamLoadProcess>[0]) => {
        const runs = [];
        for (let i = 0; i < repeats; i++) {
          const cpu0 = await s.cpuSeconds();
          const r = await runStreamLoadProcess(o);
          // Server CPU per event over the whole run (warm-up included): its cost on a quiet core.
          const events = (r.scored + r.errors) * ((r.seconds + 1) / r.seconds);
          runs.push({
            ...r,
            serverCpuMicrosPerEvent: (((await s.cpuSeconds()) - cpu0) / events) * 1e6,
          });
        }
        commands.push(streamLoadCommand(o).join(" ").replace(o.url, "URL"));
        return runs;
      };
      const batched = await rep({ url: s.url, streams: 1, batch: 100, window: 16, seconds: secs });
      const maxRate = summarize(batched.map((r) => r.eventsPerSecond));
      const single = await rep({ url: s.url, streams: 1, batch: 1, window: 64, seconds: secs });
      const singleRate = summarize(single.map((r) => r.eventsPerSecond));
      const batchedCpu = summarize(batched.map((r) => r.serverCpuMicrosPerEvent));
      const singleCpu = summarize(single.map((r) => r.serverCpuMicrosPerEvent));
      // Half the batched maximum, open loop, batched the way the agent batches at that rate.
      const half = Math.round(maxRate.median / 2);
      const halfBatch = Math.max(1, Math.min(100, Math.floor(half / 200)));
      const halfRuns = await rep({
        url: s.url,
        streams: 1,
        batch: halfBatch,
        rate: half,
        window: 16,
        seconds: secs,
      });
      const p99 = summarize(halfRuns.map((r) => r.latencyMs.p99));
      const p50 = summarize(halfRuns.map((r) => r.latencyMs.p50));
      const agentRuns = [];
      for (let i = 0; i < repeats; i++) {
        agentRuns.push(
          await runAgentProcess({ url: s.url, batch: 100, count: quick ? 20_000 : 60_000 }),
        );
      }
      commands.push((agentRuns[0] as { command: string }).command);
      const agentRate = summarize(agentRuns.map((r) => r.eventsPerSecond));
      stream.batched = batched;
      stream.single = single;
      stream.halfRate = { rate: half, batch: halfBatch, runs: halfRuns };
      stream.agent = agentRuns;
      results.stream = stream;
      rows.push(
        {
          id: "stream.batched",
          what: "StreamScore, 1 connection, 100 events/message, 16 in flight, events/s",
          value: fmt(maxRate),
          goal: "≥ 100k",
          verdict: verdict(maxRate.median, "min", 100_000),
        },
        {
          id: "stream.batched.cpu",
          what: "  same, server CPU per event, µs (→ events/s one free core could serve)",
          value: `${fmt(batchedCpu, "µs", fixed(1))} → ${si(1e6 / batchedCpu.median)}`,
          goal: "",
          verdict: "",
        },
        {
          id: "stream.single",
          what: "StreamScore, 1 event/message, 64 in flight, events/s",
          value: fmt(singleRate),
          goal: "≥ 20k",
          verdict: verdict(singleRate.median, "min", 20_000),
        },
        {
          id: "stream.single.cpu",
          what: "  same, server CPU per event, µs (→ events/s per free core)",
          value: `${fmt(singleCpu, "µs", fixed(1))} → ${si(1e6 / singleCpu.median)}`,
          goal: "",
          verdict: "",
        },
        {
          id: "stream.halfRate.p99",
          what: `per-event latency p99 at half max (${si(half)} ev/s open loop, ${halfBatch}/message), ms`,
          value: `${fmt(p99, "ms", fixed(1))}; p50 ${p50.median.toFixed(1)}`,
          goal: "≤ 10 ms",
          verdict: verdict(p99.median, "max", 10),
        },
        {
          id: "stream.agent",
          what: "real agent (simulator + encode in the agent), 100/message, events/s",
          value: `${fmt(agentRate)}; p99 ${summarize(agentRuns.map((r) => r.latencyMs.p99)).median.toFixed(0)} ms`,
          goal: "",
          verdict: "",
        },
      );
    }

    if (only.has("agent")) {
      section("agent");
      const a = await runAgentCpuBench({
        root: ROOT,
        server: await ensureServer(),
        repeats,
        quick,
        log,
      });
      rows.push(...a.rows);
      commands.push(...a.results.commands);
      results.agentCpu = a.results;
    }

    if (only.has("unary")) {
      section("unary");
      const startWithFlags = async (extra: readonly string[], stdout?: "pipe") => {
        const s = await startServer(loadMode, MODEL, { cwd: ROOT, extraArgs: extra, stdout });
        commands.push(`server: ${serverCommand(loadMode, s.port, MODEL, extra).join(" ")}`);
        return s;
      };
      const unary = await runUnarySection({
        log,
        repeats,
        seconds: secs,
        server: await ensureServer(),
        startWorkers: async (n) => {
          const s = await startWithFlags(["--workers", String(n)]);
          // SERVING comes from the first worker up; give the others time to listen too.
          await new Promise((r) => setTimeout(r, 3_000));
          return s;
        },
        startWithFlags,
        startFloor: async () => {
          const command = (port: number) => [
            "node",
            "--import",
            "tsx",
            "bench/http2-floor.ts",
            "--port",
            String(port),
          ];
          const s = await startServing(command, "http2-floor", { cwd: ROOT });
          commands.push(`floor: ${command(s.port).join(" ")}`);
          return s;
        },
        commands,
      });
      rows.push(...unary.rows);
      results.unary = unary.results;
    }

    if (only.has("transport")) {
      section("transport");
      const transport = await runTransportSection({
        log,
        repeats,
        seconds: secs,
        model: MODEL,
        startScript: async (file, prefix, args = []) => {
          const command = (port: number) => [
            ...prefix,
            "node",
            "--import",
            "tsx",
            file,
            "--port",
            String(port),
            ...args,
          ];
          const s = await startServing(command, file, { cwd: ROOT });
          commands.push(`${file}: ${command(s.port).join(" ")}`);
          return s;
        },
        startServer: async (flags, prefix) => {
          const command = (port: number) => [
            ...prefix,
            ...serverCommand(loadMode, port, MODEL, flags),
          ];
          const s = await startServing(command, `server ${flags.join(" ")}`, { cwd: ROOT });
          commands.push(`server: ${command(s.port).join(" ")}`);
          return s;
        },
      });
      rows.push(...transport.rows);
      results.transport = transport.results;
    }

    if (server && (only.has("stream") || only.has("unary"))) {
      const mem = await server.memory();
      results.loadServerMemory = mem;
      rows.push({
        id: "footprint.peakRss",
        what: `server peak RSS over the load sections (${loadMode}), MB`,
        value: mem.peakRssMb.toFixed(0),
        goal: "≤ 150 MB",
        verdict: verdict(mem.peakRssMb, "max", 150),
      });
    }

    if (only.has("scaling")) {
      section("scaling");
      const fx = createEngineFixture({ scoreEvents: quick ? 10_000 : 20_000 });
      const points = runEngineScaling(fx, quick ? 3 : repeats, quick);
      results.engineScaling = points;
      log("scaling: streams × batch");
      const s = await ensureServer();
      const grid = [];
      for (const streams of [1, 4, 16]) {
        for (const batch of quick ? [1, 100] : [1, 10, 100, 1000]) {
          // Cap the events in flight on the one connection near 16k: beyond that the
          // server's HTTP/2 session refuses more (ENHANCE_YOUR_CALM), which is not a rate.
          const window = Math.max(
            1,
            Math.min(batch === 1 ? 64 : 16, Math.floor(16_000 / (batch * streams))),
          );
          const runs = [];
          let failure = "";
          for (let i = 0; i < (quick ? 1 : 3); i++) {
            try {
              runs.push(
                await runStreamLoadProcess({
                  url: s.url,
                  streams,
                  batch,
                  window,
                  seconds: quick ? 2 : 3,
                }),
              );
            } catch (err) {
              failure =
                (err as Error).message.split("\n").find((l) => l.startsWith("stream-load")) ??
                "failed";
            }
          }
          grid.push({
            streams,
            batch,
            window,
            eventsPerSecond: runs.length
              ? summarize(runs.map((r) => r.eventsPerSecond))
              : undefined,
            p99Ms: runs.length ? summarize(runs.map((r) => r.latencyMs.p99)) : undefined,
            failure,
          });
        }
      }
      results.streamScaling = grid;
      results.scalingTables = {
        engine: engineScalingTable(points),
        stream: streamScalingTable(grid),
      };
    }
    if (only.has("sources")) {
      section("sources");
      const src = await runSourcesSection({ repeats, quick, log });
      rows.push(...src.rows);
      Object.assign(results, src.results);
    }
    if (only.has("metrics")) {
      section("metrics");
      const m = await runMetricsSection({ root: ROOT, repeats, quick });
      rows.push(...m.rows);
      Object.assign(results, m.results);
    }
    if (only.has("kafka")) {
      section("kafka");
      const k = await runKafkaSection({ quick, log });
      rows.push(...k.rows);
      Object.assign(results, k.results);
    }
  } catch (err) {
    // Keep what was measured: the table and the JSON still get written.
    const message = (err as Error).message.split("\n")[0] as string;
    log(`aborted: ${message}`);
    rows.push({
      id: "aborted",
      what: `run aborted: ${message}`,
      value: "",
      goal: "",
      verdict: "MISS",
    });
  } finally {
    await server?.stop();
  }

  machine.loadAvgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  section("");
  machine.stealShare = stealShare(ticksAtStart, readCpuTicks());
  machine.stealBySection = steal;
  const pct = (x: number | undefined) => (x === undefined ? "n/a" : `${(x * 100).toFixed(1)} %`);
  const out = [
    `netanomaly benchmark — ${machine.date}`,
    `machine: ${machine.nproc} × ${machine.cpu}, node ${machine.node}; load average ${machine.loadAvgAtStart.join(" ")} at start, ${machine.loadAvgAtEnd.join(" ")} at end`,
    `CPU steal (time the hypervisor gave to other guests): ${pct(machine.stealShare)} of the run; ${Object.entries(
      steal,
    )
      .map(([name, share]) => `${name} ${pct(share)}`)
      .join(", ")}`,
    `repeats: ${repeats}${quick ? " (quick)" : ""}; rates are wall clock, "cpu" = per CPU-second of the measuring process`,
    "",
    renderTable(rows),
  ];
  const tables = results.scalingTables as { engine: string; stream: string } | undefined;
  if (tables)
    out.push(
      "",
      "Engine scaling (WebAssembly kernel):",
      "",
      tables.engine,
      "",
      "StreamScore scaling (one connection):",
      "",
      tables.stream,
    );
  out.push("", "Commands:", ...commands.map((c) => `  ${c}`));
  process.stdout.write(`${out.join("\n")}\n`);
  await mkdir(new URL("./results/", import.meta.url), { recursive: true });
  const file = new URL(
    `./results/bench-${machine.date.replace(/[:.]/g, "-")}.json`,
    import.meta.url,
  );
  await writeFile(file, `${JSON.stringify({ machine, rows, commands, results }, null, 2)}\n`);
  log(`results: ${file.pathname}`);
}

function engineScalingTable(points: ReturnType<typeof runEngineScaling>): string {
  const rows = points.map((p) => [
    String(p.trees),
    String(p.maxSamples),
    String(p.depth),
    String(p.features),
    `${(p.nodeBytes / 1024).toFixed(0)} KiB`,
    fmt(p.rowsPerSecond.wall),
    si(p.rowsPerSecond.wall.median * p.trees),
    fmt(p.singleRowMicros.wall, "", fixed(2)),
  ]);
  return markdown(
    ["trees", "ψ", "depth", "features", "nodes", "rows/s", "rows×trees/s", "1 row µs"],
    rows,
  );
}

function streamScalingTable(
  grid: {
    streams: number;
    batch: number;
    window: number;
    eventsPerSecond: ReturnType<typeof summarize> | undefined;
    p99Ms: ReturnType<typeof summarize> | undefined;
    failure: string;
  }[],
): string {
  return markdown(
    ["streams", "events/message", "in flight/stream", "events/s", "p99 ms"],
    grid.map((g) => [
      String(g.streams),
      String(g.batch),
      String(g.window),
      g.eventsPerSecond ? fmt(g.eventsPerSecond) : g.failure,
      g.p99Ms ? fmt(g.p99Ms, "", fixed(1)) : "",
    ]),
  );
}

function markdown(head: string[], body: string[][]): string {
  const widths = head.map((h, c) =>
    Math.max(h.length, ...body.map((b) => (b[c] as string).length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((x, c) => x.padEnd(widths[c] as number)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
