/**
 * Issue 20's proof on a real Apache Kafka broker (KRaft, started from the
 * Maven Central jars by scripts/kafka-broker.sh): the agent publishes events
 * into a 6-partition topic (`--sink kafka`), two scorer processes share it as
 * one consumer group, one is SIGKILLed mid-run and restarted, the broker is
 * restarted once, and at the end every input record has at least one verdict,
 * duplicates are counted, and per-key order holds. Malformed records land in
 * the dead-letter topic with their reason and do not stall their partition.
 *
 * NETANOMALY_KAFKA_EVENTS sets the event count (default 100,000; CI runs that).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ProduceAcks, Producer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../detector/index.js";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { DEAD_LETTER_HEADERS, type VerdictRecord } from "../kafka/verdict.js";
import { sourceNamed } from "../sources/index.js";
import {
  committedOffsets,
  createTopics,
  describeGroup,
  freePort,
  groupLag,
  kafkaMissing,
  LocalBroker,
  ROOT,
  readTopic,
  type ScorerProcess,
  spawnScorer,
  waitFor,
} from "./kafka-harness.js";

const missing = kafkaMissing();
const CI = process.env.CI === "true";
const EVENTS = Number(process.env.NETANOMALY_KAFKA_EVENTS || 100_000);
/** Source hosts the events rotate over: the record keys. */
const HOSTS = 64;
const START_MS = Date.UTC(2024, 11, 16);
const GROUP = "scorers";

let dir = "";
let broker: LocalBroker | undefined;
const scorers: ScorerProcess[] = [];
let agent: ChildProcess | undefined;

if (CI) {
  it("has Java and the Kafka jars (scripts/install-tools.sh fetches them)", () => {
    expect(missing).toBeUndefined();
  });
}

beforeAll(async () => {
  if (missing !== undefined) return;
  dir = mkdtempSync(join(tmpdir(), "netanomaly-kafka-"));
  broker = new LocalBroker(join(dir, "broker"), await freePort(), await freePort());
  await broker.start();
  await createTopics(broker.brokers, ["telemetry", "verdicts"], 6);
  await createTopics(broker.brokers, ["telemetry.dead-letter", "alerts"], 1);
}, 120_000);

afterAll(async () => {
  agent?.kill("SIGKILL");
  for (const s of scorers) s.child.kill("SIGKILL");
  await broker?.stop().catch(() => {});
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
}, 60_000);

/**
 * Writes `EVENTS` simulated events as JSON lines: each carries its sequence
 * number as its timestamp (START_MS + i ms) and one of `HOSTS` source hosts,
 * so every event is recognisable and per-host order can be checked.
 */
async function writeEvents(path: string): Promise<void> {
  const sim = sourceNamed("sim");
  if (sim === undefined) throw new Error("no sim source");
  const templates = [];
  const ctl = new AbortController();
  for await (const { event } of sim.open(
    { seed: 3, anomalyRate: 0.02 },
    { signal: ctl.signal, onSkip: () => {}, onNotice: () => {} },
  )) {
    templates.push(event);
    if (templates.length === 2_000) break;
  }
  ctl.abort();
  const lines: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const e = { ...templates[i % templates.length] } as (typeof templates)[number];
    e.timestamp = timestampFromMs(START_MS + i);
    e.sourceIp = hostOf(i % HOSTS);
    lines.push(toJsonString(NetworkEventSchema, e));
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
}

function hostOf(k: number): string {
  return `10.20.${k >> 4}.${(k & 15) + 1}`;
}

/** The test's own time limit; its waits end 30 s before it, so a failure always says why. */
const TEST_TIMEOUT_MS = 420_000;
let deadlineMs = Number.POSITIVE_INFINITY;

/**
 * `waitFor`, within the test's deadline, with the scorers' last log lines,
 * what each is doing and how the broker sees the group in the error.
 */
async function waitWithLogs(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  try {
    await waitFor(what, check, Math.max(1_000, Math.min(timeoutMs, deadlineMs - Date.now())), 500);
  } catch (e) {
    const logs = await Promise.all(
      scorers.map(
        async (s, n) => `--- scorer ${n}\n${s.log().slice(-3000)}\n${await s.diagnose()}`,
      ),
    );
    const group = await describeGroup((broker as LocalBroker).brokers, GROUP, "telemetry");
    throw new Error(`${(e as Error).message}\n${group}\n${logs.join("\n")}`);
  }
}

function startScorer(name: string): ScorerProcess {
  const s = spawnScorer([
    "--brokers",
    (broker as LocalBroker).brokers.join(","),
    "--in",
    "telemetry",
    "--out",
    "verdicts",
    "--alerts",
    "alerts",
    "--group",
    GROUP,
    "--client-id",
    name,
    "--session-timeout",
    "6000",
    "--batch",
    "1000",
  ]);
  scorers.push(s);
  return s;
}

/** Sum over partitions of what `GROUP` has committed on the input. */
async function committedTotal(): Promise<bigint> {
  let n = 0n;
  for (const c of (
    await committedOffsets((broker as LocalBroker).brokers, GROUP, "telemetry")
  ).values())
    if (c > 0n) n += c;
  return n;
}

describe.skipIf(missing !== undefined && !CI)("agent → Kafka → two scorers → Kafka", () => {
  it(
    `scores ${EVENTS} events through a scorer SIGKILL and a broker restart: none lost, per-host order kept`,
    async () => {
      const b = broker as LocalBroker;
      const started = performance.now();
      deadlineMs = Date.now() + TEST_TIMEOUT_MS - 30_000;
      const input = join(dir, "events.jsonl");
      await writeEvents(input);

      // Three records no scorer can use, ahead of the agent's: they must go to the dead letter topic.
      const producer = new Producer({
        clientId: "bad",
        bootstrapBrokers: b.brokers,
        acks: ProduceAcks.ALL,
      });
      await producer.send({
        messages: [
          { topic: "telemetry", key: Buffer.from("bad-host"), value: Buffer.from("{not json") },
          {
            topic: "telemetry",
            key: Buffer.from("bad-host"),
            value: Buffer.from('{"sourceIp":"999.1.1.1"}'),
          },
          {
            topic: "telemetry",
            key: Buffer.from("bad-host"),
            value: Buffer.from('{"bytesSent":"x"}'),
          },
        ],
      });
      await producer.close();

      const a = startScorer("scorer-a");
      startScorer("scorer-b");
      let agentOut = "";
      let agentErr = "";
      agent = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          join(ROOT, "agent/main.ts"),
          "--source",
          "jsonl",
          "--input",
          input,
          "--sink",
          "kafka",
          "--brokers",
          b.brokers.join(","),
          "--topic",
          "telemetry",
          "--json",
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      agent.stdout?.on("data", (d: Buffer) => {
        agentOut += d.toString();
      });
      agent.stderr?.on("data", (d: Buffer) => {
        agentErr += d.toString();
      });
      const agentExit = new Promise<number | null>((r) => agent?.on("exit", (code) => r(code)));

      // Chaos: SIGKILL scorer A once a fifth is committed, restart it; restart the broker at 45 %.
      await waitWithLogs(
        "a fifth of the events committed",
        async () => (await committedTotal()) >= BigInt(EVENTS / 5),
        120_000,
      );
      a.child.kill("SIGKILL");
      await a.exited;
      const killedAt = Number(await committedTotal().catch(() => 0n));
      startScorer("scorer-a2");
      await waitWithLogs(
        "45 % committed",
        async () => (await committedTotal()) >= BigInt(Math.floor(EVENTS * 0.45)),
        120_000,
      );
      const brokerStopAt = Number(await committedTotal().catch(() => 0n));
      const stopT = performance.now();
      await b.stop();
      await b.start();
      const brokerDownS = (performance.now() - stopT) / 1000;

      await waitWithLogs(
        "the agent to finish",
        async () => agent?.exitCode !== null || agent?.signalCode !== null,
        180_000,
      );
      const agentCode = await agentExit;
      expect(agentCode, agentErr).toBe(0);
      const summary = JSON.parse(agentOut.trim().split("\n").pop() as string);
      expect(summary).toMatchObject({ sent: EVENTS, lost: 0 });
      expect(summary.fatal).toBeUndefined();

      // Every record in the input (the agent's and the three bad ones) gets committed past.
      await waitWithLogs(
        "the group to commit every input record",
        async () => (await groupLag(b.brokers, GROUP, "telemetry")) === 0n,
        180_000,
      );
      const scoredS = (performance.now() - started) / 1000;
      for (const s of scorers)
        if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGTERM");
      const codes = await Promise.all(scorers.map((s) => s.exited));
      expect(codes.slice(1), scorers.map((s) => s.log().slice(-2000)).join("\n")).toEqual(
        codes.slice(1).map(() => 0),
      );

      // The input: every event at least once; per host, first copies in the agent's order.
      const inputAt = new Map<string, { key: string; seq: number }>(); // "p/offset" -> event
      const seenSeq = new Set<number>();
      const lastSeqOfHost = new Map<string, number>();
      let inputOrderBreaks = 0;
      let inputRecords = 0;
      await readTopic(b.brokers, "telemetry", (m) => {
        inputRecords++;
        const key = m.key.toString();
        if (key === "bad-host") return;
        const seq = Date.parse(JSON.parse(m.value.toString()).timestamp) - START_MS;
        inputAt.set(`${m.partition}/${m.offset}`, { key, seq });
        if (seenSeq.has(seq)) return;
        seenSeq.add(seq);
        if ((lastSeqOfHost.get(key) ?? -1) > seq) inputOrderBreaks++;
        lastSeqOfHost.set(key, seq);
      });
      expect(seenSeq.size).toBe(EVENTS);
      expect(inputOrderBreaks).toBe(0);

      // The verdicts: every input record answered; per host, first verdicts in input order.
      const expectedVersion = (await loadModel(join(ROOT, "models/default.model.json"))).info
        .version;
      const answered = new Set<string>();
      const lastOffsetOfHost = new Map<string, bigint>();
      let verdicts = 0;
      let outputOrderBreaks = 0;
      let anomalies = 0;
      let wrongKey = 0;
      let wrongVersion = 0;
      await readTopic(b.brokers, "verdicts", (m) => {
        verdicts++;
        const v = JSON.parse(m.value.toString()) as VerdictRecord;
        const at = `${v.input.partition}/${v.input.offset}`;
        const source = inputAt.get(at);
        if (source === undefined || m.key.toString() !== source.key) wrongKey++;
        if (v.modelVersion !== expectedVersion) wrongVersion++;
        if (answered.has(at)) return;
        answered.add(at);
        if (v.verdict === "VERDICT_ANOMALOUS") anomalies++;
        const offset = BigInt(v.input.offset);
        const key = m.key.toString();
        if ((lastOffsetOfHost.get(key) ?? -1n) > offset) outputOrderBreaks++;
        lastOffsetOfHost.set(key, offset);
      });
      const lost = [...inputAt.keys()].filter((at) => !answered.has(at)).length;
      expect(lost).toBe(0);
      expect(answered.size).toBe(inputAt.size);
      expect(wrongKey).toBe(0);
      expect(wrongVersion).toBe(0);
      expect(outputOrderBreaks).toBe(0);
      expect(anomalies).toBeGreaterThan(0);

      let alerts = 0;
      await readTopic(b.brokers, "alerts", () => {
        alerts++;
      });
      expect(alerts).toBeGreaterThanOrEqual(anomalies);

      const dead: { reason: string; field: string; input: string }[] = [];
      await readTopic(b.brokers, "telemetry.dead-letter", (m) => {
        const h = (name: string) => headerOf(m.headers, name);
        dead.push({
          reason: h(DEAD_LETTER_HEADERS.reason),
          field: h(DEAD_LETTER_HEADERS.field),
          input: h(DEAD_LETTER_HEADERS.input),
        });
      });
      const firstDead = new Map(dead.map((d) => [d.input, d]));
      expect([...firstDead.values()].map((d) => d.field).sort()).toEqual([
        "",
        "bytes_sent",
        "source_ip",
      ]);
      expect([...firstDead.values()].every((d) => d.reason.length > 0)).toBe(true);

      const figures = {
        events: EVENTS,
        input_records: inputRecords,
        input_duplicates: inputRecords - 3 - EVENTS,
        verdicts,
        verdict_duplicates: verdicts - answered.size,
        lost,
        anomalies,
        alerts,
        dead_letters: dead.length,
        committed_at_sigkill: killedAt,
        committed_at_broker_stop: brokerStopAt,
        broker_down_s: Number(brokerDownS.toFixed(1)),
        agent: {
          sent: summary.sent,
          resent: summary.resent,
          reconnects: summary.reconnects,
          events_per_s: summary.events_per_s,
        },
        seconds_to_all_committed: Number(scoredS.toFixed(1)),
        scorers: scorers.map(
          (s) => /stopped: (\{[^}]*\})/.exec(s.log())?.[1]?.replace(/\\"/g, '"') ?? "killed",
        ),
      };
      process.stdout.write(`kafka pipeline: ${JSON.stringify(figures)}\n`);
    },
    TEST_TIMEOUT_MS,
  );
});

/** A header's value by name (header keys arrive as Buffers, compared by content). */
function headerOf(headers: Map<unknown, unknown>, name: string): string {
  for (const [k, v] of headers) if (String(k) === name) return String(v);
  return "";
}
