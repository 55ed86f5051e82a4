import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { runMeasured } from "./measured-run.js";
import { fixed, fmt, type TableRow, verdict } from "./report.js";
import type { ServerProcess } from "./server-process.js";
import { si, summarize } from "./stats.js";

/** One source the agent reads in this section. */
interface AgentSource {
  name: string;
  /** The agent's flags that pick and feed the source. */
  flags: string[];
  /** `--count`, or the whole input when undefined. */
  count?: number;
}

/** One timed agent run and the server's share of it. */
export interface AgentCpuRun {
  events: number;
  eventsPerSecond: number;
  lost: number;
  duplicates: number;
  /** The agent process's user + system CPU seconds, start to exit. */
  agentCpuSeconds: number;
  /** The same for a run that sends nothing (`--count 0`): start-up, connection and exit. */
  startupCpuSeconds: number;
  agentCpuMicrosPerEvent: number;
  serverCpuMicrosPerEvent: number;
}

/** What the section measured, by source. */
export interface AgentCpuResults {
  commands: string[];
  bySource: Record<string, AgentCpuRun[]>;
}

const flagsOf = (s: AgentSource) => [
  ...s.flags,
  ...(s.count === undefined ? [] : ["--count", String(s.count)]),
];

/**
 * Writes `copies` copies of the rows of the telemetry CSV `input` (header
 * once) to `output`: a replay long enough to time.
 */
async function loopCsv(input: string, output: string, copies: number): Promise<number> {
  const lines: string[] = [];
  for await (const line of createInterface({ input: createReadStream(input) })) {
    if (line !== "") lines.push(line);
  }
  const [header, ...rows] = lines;
  const out = createWriteStream(output);
  const write = (s: string) =>
    new Promise<void>((resolve, reject) => out.write(s, (err) => (err ? reject(err) : resolve())));
  await write(`${header}\n`);
  const body = `${rows.join("\n")}\n`;
  for (let i = 0; i < copies; i++) await write(body);
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return rows.length * copies;
}

/**
 * The agent's own cost (issue 22, goal 6): the real agent (`node --import
 * tsx agent/main.ts`, `--rate 0`, 100 events/message) against the bench's
 * server, simulated and replayed. The agent's CPU time comes from the
 * shell that waited for it (`measured-run.ts`); a `--count 0` run of the
 * same command, just before, gives its start-up cost, which is taken off:
 * an agent on a host runs for days. The server's CPU over the same run is
 * divided by the events it scored. One untimed run of 20,000 simulated
 * events comes first, to warm the server up.
 */
export async function runAgentCpuBench(o: {
  root: string;
  server: ServerProcess;
  repeats: number;
  quick: boolean;
  log: (line: string) => void;
}): Promise<{ rows: TableRow[]; results: AgentCpuResults }> {
  const dir = await mkdtemp(join(tmpdir(), "netanomaly-agent-cpu-"));
  try {
    const replay = join(dir, "telemetry-looped.csv");
    const copies = o.quick ? 2 : 8;
    const rowsInReplay = await loopCsv(join(o.root, "data/telemetry.csv"), replay, copies);
    const simCount = o.quick ? 50_000 : 200_000;
    const sources: AgentSource[] = [
      { name: "sim", flags: ["--source", "sim"], count: simCount },
      { name: "csv", flags: ["--source", "csv", "--input", replay] },
    ];
    const base = ["--import", "tsx", "agent/main.ts", "--target", o.server.url];
    const common = ["--rate", "0", "--batch", "100", "--json"];
    const bySource: Record<string, AgentCpuRun[]> = {};
    // One untimed run first: the server's JIT warms up on someone else's figures.
    await runMeasured("node", [...base, "--source", "sim", "--count", "20000", ...common], 120);
    for (let i = 0; i < o.repeats; i++) {
      for (const s of sources) {
        const startup = await runMeasured(
          "node",
          [...base, ...s.flags, "--count", "0", ...common],
          60,
        );
        const cpu0 = await o.server.cpuSeconds();
        const measured = await runMeasured("node", [...base, ...flagsOf(s), ...common], 300);
        const serverCpu = (await o.server.cpuSeconds()) - cpu0;
        const summary = JSON.parse(measured.stdout.trim().split("\n").pop() as string) as {
          scored: number;
          errors: number;
          lost: number;
          duplicates: number;
          events_per_s: number;
        };
        const events = summary.scored + summary.errors;
        const run: AgentCpuRun = {
          events,
          eventsPerSecond: summary.events_per_s,
          lost: summary.lost,
          duplicates: summary.duplicates,
          agentCpuSeconds: measured.cpuSeconds,
          startupCpuSeconds: startup.cpuSeconds,
          agentCpuMicrosPerEvent: ((measured.cpuSeconds - startup.cpuSeconds) / events) * 1e6,
          serverCpuMicrosPerEvent: (serverCpu / events) * 1e6,
        };
        o.log(
          `agent ${s.name}: ${events} events, agent ${run.agentCpuMicrosPerEvent.toFixed(1)} µs/event (start-up ${startup.cpuSeconds.toFixed(2)} s), server ${run.serverCpuMicrosPerEvent.toFixed(1)} µs/event`,
        );
        const list = bySource[s.name] ?? [];
        list.push(run);
        bySource[s.name] = list;
      }
    }
    const commands = sources.map(
      (s) =>
        `${["node", ...base, ...flagsOf(s), ...common].join(" ").replace(o.server.url, "URL").replace(replay, `data/telemetry.csv×${copies}`)} (and the same with --count 0 for start-up)`,
    );
    const rows: TableRow[] = [];
    const label: Record<string, string> = {
      sim: `--source sim, ${si(simCount)} events`,
      csv: `--source csv, data/telemetry.csv × ${copies} (${si(rowsInReplay)} rows)`,
    };
    for (const s of sources) {
      const runs = bySource[s.name] ?? [];
      const agent = summarize(runs.map((r) => r.agentCpuMicrosPerEvent));
      const server = summarize(runs.map((r) => r.serverCpuMicrosPerEvent));
      const ratio = summarize(
        runs.map((r) => r.agentCpuMicrosPerEvent / r.serverCpuMicrosPerEvent),
      );
      const rate = summarize(runs.map((r) => r.eventsPerSecond));
      const startup = summarize(runs.map((r) => r.startupCpuSeconds));
      const lost = runs.reduce((n, r) => n + r.lost, 0);
      rows.push(
        {
          id: `agent.${s.name}.cpu`,
          what: `agent CPU per event sent, ${label[s.name]}, rate 0, 100/message, µs (start-up ${startup.median.toFixed(2)} s taken off)`,
          value: fmt(agent, "µs", fixed(2)),
          goal: "≤ server's",
          verdict: verdict(ratio.median, "max", 1),
        },
        {
          id: `agent.${s.name}.server`,
          what: "  same runs, server CPU per event, µs",
          value: fmt(server, "µs", fixed(2)),
          goal: "",
          verdict: "",
        },
        {
          id: `agent.${s.name}.ratio`,
          what: `  ratio agent / server, run by run; events/s ${si(rate.median)}, lost ${lost}`,
          value: fmt(ratio, "", (x) => `${x.toFixed(2)}×`),
          goal: "≤ 1×",
          verdict: lost === 0 ? verdict(ratio.median, "max", 1) : "MISS",
        },
      );
    }
    return { rows, results: { commands, bySource } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
