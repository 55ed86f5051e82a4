/**
 * The scorer process on a real broker, the parts the pipeline test does not
 * cover: protobuf input, a model replaced while it runs (verdicts name the new
 * version from the next batch on), SIGHUP not killing it, and the agent's
 * Kafka sink riding out a broker that is not up yet.
 */
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Consumer, ProduceAcks, Producer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgent } from "../agent/run-agent.js";
import { loadModel, serializeModel, trainModel } from "../detector/index.js";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { waitingRecords } from "../kafka/progress.js";
import type { VerdictRecord } from "../kafka/verdict.js";
import {
  createTopics,
  endOffsets,
  freePort,
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
let dir = "";
let broker: LocalBroker | undefined;
let scorer: ScorerProcess | undefined;

beforeAll(async () => {
  if (missing !== undefined) return;
  dir = mkdtempSync(join(tmpdir(), "netanomaly-kafka-scorer-"));
  broker = new LocalBroker(join(dir, "broker"), await freePort(), await freePort());
  await broker.start();
  await createTopics(broker.brokers, ["pb-in", "pb-out"], 3);
  await createTopics(broker.brokers, ["pb-in.dead-letter"], 1);
}, 120_000);

afterAll(async () => {
  scorer?.child.kill("SIGKILL");
  await broker?.stop().catch(() => {});
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
}, 60_000);

function events(count: number, from: number): NetworkEvent[] {
  return Array.from({ length: count }, (_, i) =>
    create(NetworkEventSchema, {
      timestamp: timestampFromMs(Date.UTC(2024, 11, 16) + from + i),
      processPath: "/usr/bin/curl",
      sourceIp: `10.0.0.${(i % 5) + 1}`,
      destIp: "93.184.216.34",
      destPort: 443,
      bytesSent: BigInt(100 + i),
      bytesRecv: 4000n,
      protocol: "TCP",
    }),
  );
}

async function produce(list: NetworkEvent[], extra: Buffer[] = [], topic = "pb-in"): Promise<void> {
  const p = new Producer({
    clientId: "pb-test",
    bootstrapBrokers: (broker as LocalBroker).brokers,
    acks: ProduceAcks.ALL,
  });
  try {
    await p.send({
      messages: [
        ...list.map((e) => ({
          topic,
          key: Buffer.from(e.sourceIp),
          value: Buffer.from(toBinary(NetworkEventSchema, e)),
        })),
        ...extra.map((value) => ({ topic, key: Buffer.from("bad"), value })),
      ],
    });
  } finally {
    await p.close();
  }
}

async function verdicts(topic = "pb-out"): Promise<VerdictRecord[]> {
  const out: VerdictRecord[] = [];
  await readTopic((broker as LocalBroker).brokers, topic, (m) => {
    out.push(JSON.parse(m.value.toString()) as VerdictRecord);
  });
  return out;
}

describe.skipIf(missing !== undefined && !CI)("npm run consume on a real broker", () => {
  it("scores protobuf records, reloads a replaced model and survives SIGHUP", async () => {
    const b = broker as LocalBroker;
    const model = join(dir, "model.json");
    copyFileSync(join(ROOT, "models/default.model.json"), model);
    const v1 = (await loadModel(model)).info.version;
    scorer = spawnScorer([
      ...["--brokers", b.brokers.join(","), "--in", "pb-in", "--out", "pb-out"],
      ...["--format", "protobuf", "--model", model, "--group", "pb"],
    ]);
    await produce(events(300, 0), [Buffer.from([0xff, 0xff, 0xff])]);
    await waitFor("300 verdicts", async () => (await verdicts()).length >= 300, 60_000, 500);
    const first = await verdicts();
    expect(new Set(first.map((v) => v.modelVersion))).toEqual(new Set([v1]));
    expect(first.every((v) => v.input.topic === "pb-in")).toBe(true);
    let dead = 0;
    await readTopic(b.brokers, "pb-in.dead-letter", () => {
      dead++;
    });
    expect(dead).toBe(1);

    // A new model, put in place the way the trainer does (rename in the directory).
    const next = trainModel(events(400, 10_000), { nEstimators: 10, seed: 5 });
    writeFileSync(join(dir, "next.json"), serializeModel(next));
    renameSync(join(dir, "next.json"), model);
    const v2 = (await loadModel(model)).info.version;
    expect(v2).not.toBe(v1);
    await waitFor("the reload", () => scorer?.log().includes(`-> ${v2}`) === true, 30_000);
    scorer.child.kill("SIGHUP");
    await produce(events(300, 20_000));
    await waitFor("600 verdicts", async () => (await verdicts()).length >= 600, 60_000, 500);
    // Verdicts of the second 300 records (not answered before the reload) carry the new version.
    const before = new Set(first.map((v) => `${v.input.partition}/${v.input.offset}`));
    const after = (await verdicts()).filter(
      (v) => !before.has(`${v.input.partition}/${v.input.offset}`),
    );
    expect(after.length).toBeGreaterThanOrEqual(300);
    expect(new Set(after.map((v) => v.modelVersion))).toEqual(new Set([v2]));
    expect(scorer.child.exitCode).toBeNull();
    scorer.child.kill("SIGTERM");
    expect(await scorer.exited).toBe(0);
  }, 180_000);

  it("leaves and joins the group again when its fetches and heartbeats stop being answered", async () => {
    const b = broker as LocalBroker;
    await createTopics(b.brokers, ["st-in", "st-out"], 3);
    await createTopics(b.brokers, ["st-in.dead-letter"], 1);
    const positions = async () =>
      new Set((await verdicts("st-out")).map((v) => `${v.input.partition}/${v.input.offset}`));
    scorer = spawnScorer([
      ...["--brokers", b.brokers.join(","), "--in", "st-in", "--out", "st-out"],
      ...["--format", "protobuf", "--group", "st", "--stall-timeout", "2000"],
    ]);
    await produce(events(50, 0), [], "st-in");
    await waitFor("50 verdicts", async () => (await positions()).size >= 50, 60_000, 500);
    // A broker that keeps its connections and stops answering (SIGSTOP):
    // fetches hang far below the client's 30 s request timeout.
    b.freeze();
    try {
      await waitFor(
        "the stall",
        () => /the consumer is stuck|the membership is lost/.test(scorer?.log() ?? ""),
        30_000,
      );
    } finally {
      b.thaw();
    }
    expect(scorer.log()).toMatch(
      /consumer failed \(no (fetch|heartbeat) answered in \d+ s: the (consumer is stuck|membership is lost)\); joining the group again/,
    );
    await produce(events(50, 1_000), [], "st-in");
    await waitFor("100 verdicts", async () => (await positions()).size >= 100, 90_000, 500);
    expect(scorer.child.exitCode).toBeNull();
    scorer.child.kill("SIGTERM");
    expect(await scorer.exited).toBe(0);
    expect(scorer.log()).toMatch(/stalls\W+1\b/);
  }, 180_000);

  it("counts the records waiting behind the group's committed offsets (progress.ts), and none once scored", async () => {
    const b = broker as LocalBroker;
    await createTopics(b.brokers, ["wr-in", "wr-out"], 3);
    await createTopics(b.brokers, ["wr-in.dead-letter"], 1);
    await produce(events(40, 0), [], "wr-in");
    const ends = await endOffsets(b.brokers, "wr-in");
    const probe = new Consumer({
      clientId: "wr-probe",
      groupId: "wr",
      bootstrapBrokers: b.brokers,
    });
    try {
      const before = await waitingRecords(probe, "wr-in", [0, 1, 2], 10_000);
      // Every record written waits: the broker's count (a producer retry
      // under load may have written some twice), at least the 40 sent.
      const written = ends.reduce((a, e) => a + e, 0n);
      expect(written).toBeGreaterThanOrEqual(40n);
      expect([...before.values()].reduce((a, n) => a + n, 0n)).toBe(written);
      expect([...before.keys()].sort()).toEqual(ends.flatMap((e, p) => (e > 0n ? [p] : [])).sort());
      scorer = spawnScorer([
        ...["--brokers", b.brokers.join(","), "--in", "wr-in", "--out", "wr-out"],
        ...["--format", "protobuf", "--group", "wr"],
      ]);
      await waitFor(
        "nothing left waiting",
        async () => (await waitingRecords(probe, "wr-in", [0, 1, 2], 10_000)).size === 0,
        60_000,
        500,
      );
      scorer.child.kill("SIGTERM");
      expect(await scorer.exited).toBe(0);
    } finally {
      await probe.close();
    }
  }, 120_000);

  it("outlives a broker that stays down longer than the client's retries, and goes on scoring", async () => {
    const b = broker as LocalBroker;
    await createTopics(b.brokers, ["dn-in", "dn-out"], 3);
    await createTopics(b.brokers, ["dn-in.dead-letter"], 1);
    const positions = async () =>
      new Set((await verdicts("dn-out")).map((v) => `${v.input.partition}/${v.input.offset}`));
    scorer = spawnScorer([
      ...["--brokers", b.brokers.join(","), "--in", "dn-in", "--out", "dn-out"],
      ...["--format", "protobuf", "--group", "dn"],
    ]);
    await produce(events(50, 0), [], "dn-in");
    await waitFor("50 verdicts", async () => (await positions()).size >= 50, 60_000, 500);
    // Down past the heartbeat's failure and the rejoin's 10 × 500 ms of retries.
    await b.stop();
    await new Promise((r) => setTimeout(r, 12_000));
    await b.start();
    expect(scorer.child.exitCode, scorer.log().slice(-3000)).toBeNull();
    await produce(events(50, 1_000), [], "dn-in");
    await waitFor("100 verdicts", async () => (await positions()).size >= 100, 90_000, 500);
    expect(scorer.child.exitCode, scorer.log().slice(-3000)).toBeNull();
    scorer.child.kill("SIGTERM");
    expect(await scorer.exited).toBe(0);
  }, 180_000);

  it("publishes with the agent's Kafka sink through a broker restart, losing nothing", async () => {
    const b = broker as LocalBroker;
    await createTopics(b.brokers, ["sink"], 3);
    await b.stop();
    // The broker comes back while the agent is already retrying.
    const restart = new Promise((r) => setTimeout(r, 2_000)).then(() => b.start());
    const warnings: string[] = [];
    const summary = await runAgent({
      kafka: { brokers: b.brokers, topic: "sink" },
      count: 3_000,
      rate: 0,
      seed: 2,
      backoffMaxMs: 1_000,
      onWarning: (l) => warnings.push(l),
    });
    await restart;
    expect(summary).toMatchObject({ sent: 3_000, lost: 0 });
    expect(summary.fatal).toBeUndefined();
    expect(warnings.some((w) => w.startsWith("kafka produce failed"))).toBe(true);
    // The same events as a dry run prints them: every one must be in the topic.
    const expected = new Set<string>();
    await runAgent({
      print: true,
      send: false,
      onPrint: (l) => expected.add(l),
      count: 3_000,
      rate: 0,
      seed: 2,
    });
    const seen = new Set<string>();
    await readTopic(b.brokers, "sink", (m) => {
      seen.add(m.value.toString());
    });
    expect([...expected].filter((l) => !seen.has(l))).toEqual([]);
  }, 180_000);
});

if (CI) {
  it("has Java and the Kafka jars", () => expect(missing).toBeUndefined());
}
