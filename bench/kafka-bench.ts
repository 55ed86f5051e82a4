/**
 * End-to-end events/s through Kafka: agent (`--sink kafka`) → topic →
 * scorer group (`npm run consume`) → verdict topic → a counting consumer, with
 * one scorer and with two, on a real single-node broker (scripts/kafka-broker.sh).
 *
 * Two figures per scorer count:
 * - `pipeline`: the agent publishes while the scorers score; the clock runs
 *   from the agent's start to the last distinct verdict counted. Bounded by
 *   the slowest stage (on 2 shared cores, often the agent).
 * - `backlog`: the topic is filled first, then the scorers start; the clock
 *   runs from their start to the last distinct verdict: the scorers' own rate
 *   (including joining the group).
 *
 * Exported for bench/main.ts; runnable alone: `tsx bench/kafka-bench.ts [--events N]`.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Consumer } from "@platformatic/kafka";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { sourceNamed } from "../sources/index.js";
import {
  createTopics,
  freePort,
  kafkaMissing,
  LocalBroker,
  ROOT,
  type ScorerProcess,
  spawnScorer,
} from "../test/kafka-harness.js";

/** One measured run. */
export interface KafkaBenchRun {
  scorers: number;
  mode: "pipeline" | "backlog";
  events: number;
  seconds: number;
  events_per_s: number;
  /** Verdicts counted beyond one per event (redelivery). */
  duplicates: number;
  /** The agent's own publish rate (acknowledged by the broker), events/s. */
  agent_events_per_s?: number;
}

/** What {@link kafkaBench} measured, or why it could not. */
export interface KafkaBenchResult {
  skipped?: string;
  runs: KafkaBenchRun[];
}

/** Options of {@link kafkaBench}. */
export interface KafkaBenchOptions {
  /** Events per run. Default 50,000. */
  events?: number;
  /** Scorer counts to measure. Default [1, 2]. */
  scorers?: number[];
  /** Upper bound on one run, ms. Default 180,000. */
  runTimeoutMs?: number;
  onProgress?: (line: string) => void;
}

/**
 * Starts a broker, measures every scorer count in both modes, stops the
 * broker. Never throws for a missing Java or jar cache: says so in `skipped`.
 */
export async function kafkaBench(options: KafkaBenchOptions = {}): Promise<KafkaBenchResult> {
  const missing = kafkaMissing();
  if (missing !== undefined) return { skipped: missing, runs: [] };
  const events = options.events ?? 50_000;
  const timeoutMs = options.runTimeoutMs ?? 180_000;
  const say = options.onProgress ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "netanomaly-kafka-bench-"));
  const broker = new LocalBroker(join(dir, "broker"), await freePort(), await freePort());
  const runs: KafkaBenchRun[] = [];
  try {
    await broker.start();
    const input = join(dir, "events.jsonl");
    await writeEvents(input, events);
    let round = 0;
    for (const n of options.scorers ?? [1, 2]) {
      for (const mode of ["pipeline", "backlog"] as const) {
        round++;
        const topics = { in: `bench-in-${round}`, out: `bench-out-${round}` };
        await createTopics(broker.brokers, [topics.in, topics.out], 6);
        const run = await measure(broker, topics, input, events, n, mode, timeoutMs);
        say(`kafka ${mode} ${n} scorer(s): ${run.events_per_s} events/s`);
        runs.push(run);
      }
    }
  } finally {
    await broker.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  return { runs };
}

async function measure(
  broker: LocalBroker,
  topics: { in: string; out: string },
  input: string,
  events: number,
  n: number,
  mode: "pipeline" | "backlog",
  timeoutMs: number,
): Promise<KafkaBenchRun> {
  const scorers: ScorerProcess[] = [];
  const startScorers = () => {
    for (let i = 0; i < n; i++) {
      scorers.push(
        spawnScorer([
          ...["--brokers", broker.brokers.join(","), "--in", topics.in, "--out", topics.out],
          ...["--group", `bench-${topics.in}`, "--client-id", `bench-scorer-${i}`],
        ]),
      );
    }
  };
  const counter = countVerdicts(broker.brokers, topics.out, events, timeoutMs);
  try {
    let agentRate: number | undefined;
    let t0: number;
    if (mode === "pipeline") {
      startScorers();
      // Let the group form before the clock starts.
      await new Promise((r) => setTimeout(r, 5_000));
      t0 = performance.now();
      agentRate = await runAgent(broker, topics.in, input);
    } else {
      agentRate = await runAgent(broker, topics.in, input);
      t0 = performance.now();
      startScorers();
    }
    const { at, total } = await counter.done;
    const seconds = (at - t0) / 1000;
    return {
      scorers: n,
      mode,
      events,
      seconds: round(seconds, 2),
      events_per_s: round(events / seconds, 0),
      duplicates: total - events,
      ...(agentRate === undefined ? {} : { agent_events_per_s: agentRate }),
    };
  } finally {
    counter.stop();
    for (const s of scorers) s.child.kill("SIGTERM");
    await Promise.all(scorers.map((s) => s.exited));
  }
}

/** Counts distinct verdicts (by input position) until `events`; resolves with the time of the last. */
function countVerdicts(brokers: string[], topic: string, events: number, timeoutMs: number) {
  const c = new Consumer({
    clientId: "bench-counter",
    groupId: `bench-counter-${topic}`,
    bootstrapBrokers: brokers,
    maxWaitTime: 100,
  });
  let stopped = false;
  const done = (async () => {
    const seen = new Set<string>();
    let total = 0;
    const stream = await c.consume({ topics: [topic], mode: "earliest", autocommit: false });
    const timer = setTimeout(
      () => stream.destroy(new Error(`${topic}: ${seen.size} of ${events} verdicts in time`)),
      timeoutMs,
    );
    try {
      for await (const m of stream) {
        total++;
        const v = JSON.parse(m.value.toString()) as {
          input: { partition: number; offset: string };
        };
        seen.add(`${v.input.partition}/${v.input.offset}`);
        if (seen.size >= events) return { at: performance.now(), total };
      }
      throw new Error(`${topic}: stream ended at ${seen.size} verdicts`);
    } finally {
      clearTimeout(timer);
      await stream.close().catch(() => {});
    }
  })();
  return {
    done,
    stop() {
      if (stopped) return;
      stopped = true;
      void done.catch(() => {}).finally(() => c.close(true, () => {}));
    },
  };
}

/** Runs the agent to publish the file; resolves with its acknowledged events/s. */
function runAgent(broker: LocalBroker, topic: string, input: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...["--import", "tsx", join(ROOT, "agent/main.ts"), "--source", "jsonl", "--input", input],
        ...["--sink", "kafka", "--brokers", broker.brokers.join(","), "--topic", topic, "--json"],
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`agent exited ${code}: ${err.slice(-500)}`));
      const summary = JSON.parse(out.trim().split("\n").pop() as string) as {
        events_per_s: number;
        lost: number;
      };
      if (summary.lost !== 0) return reject(new Error(`agent lost ${summary.lost} events`));
      resolve(summary.events_per_s);
    });
  });
}

/** Simulated events as JSON lines, 64 source hosts, one ms apart. */
async function writeEvents(path: string, count: number): Promise<void> {
  const sim = sourceNamed("sim");
  if (sim === undefined) throw new Error("no sim source");
  const ctl = new AbortController();
  const templates = [];
  for await (const { event } of sim.open(
    { seed: 4, anomalyRate: 0.02 },
    { signal: ctl.signal, onSkip: () => {}, onNotice: () => {} },
  )) {
    templates.push(event);
    if (templates.length === 2_000) break;
  }
  ctl.abort();
  const start = Date.UTC(2024, 11, 16);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const e = { ...templates[i % templates.length] } as (typeof templates)[number];
    e.timestamp = timestampFromMs(start + i);
    e.sourceIp = `10.30.${(i % 64) >> 4}.${(i % 16) + 1}`;
    lines.push(toJsonString(NetworkEventSchema, e));
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf("--events");
  const events = i > 0 ? Number(process.argv[i + 1]) : undefined;
  kafkaBench({
    ...(events === undefined ? {} : { events }),
    onProgress: (l) => process.stderr.write(`${l}\n`),
  }).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e: unknown) => {
      process.stderr.write(`kafka bench: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
