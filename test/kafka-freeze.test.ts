/**
 * A broker that stops answering without closing anything (SIGSTOP: sockets
 * open, no replies) while two scorers share its topic. The Kafka client's
 * own timeouts are longer than the freeze, so only the scorer's watchdogs
 * (a fetch, heartbeat, send, commit or close not answering within
 * `--stall-timeout`) can notice; once the broker goes on, the group must
 * commit every record and every record must have a verdict.
 *
 * This is the fault a CI run met after a broker restart: a scorer waiting
 * forever on a call that never answered, its partitions left unread.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { ProduceAcks, Producer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import type { VerdictRecord } from "../kafka/verdict.js";
import { sourceNamed } from "../sources/index.js";
import {
  committedOffsets,
  createTopics,
  freePort,
  groupLag,
  kafkaMissing,
  LocalBroker,
  readTopic,
  type ScorerProcess,
  spawnScorer,
  waitFor,
} from "./kafka-harness.js";

const missing = kafkaMissing();
const EVENTS = 20_000;
const GROUP = "frozen";
/** Longer than the scorers' stall timeout, shorter than the client's own request timeout (30 s). */
const FREEZE_MS = 12_000;

let dir = "";
let broker: LocalBroker | undefined;
const scorers: ScorerProcess[] = [];

beforeAll(async () => {
  if (missing !== undefined) return;
  dir = mkdtempSync(join(tmpdir(), "netanomaly-kafka-freeze-"));
  broker = new LocalBroker(join(dir, "broker"), await freePort(), await freePort());
  await broker.start();
  await createTopics(broker.brokers, ["telemetry", "verdicts"], 4);
  await createTopics(broker.brokers, ["telemetry.dead-letter"], 1);
}, 120_000);

afterAll(async () => {
  for (const s of scorers) s.child.kill("SIGKILL");
  broker?.thaw();
  await broker?.stop().catch(() => {});
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** Writes `EVENTS` simulated events, keyed over 16 hosts, into `telemetry`. */
async function produceEvents(brokers: string[]): Promise<void> {
  const sim = sourceNamed("sim");
  if (sim === undefined) throw new Error("no sim source");
  const ctl = new AbortController();
  const values: Buffer[] = [];
  for await (const { event } of sim.open(
    { seed: 5, anomalyRate: 0.02 },
    { signal: ctl.signal, onSkip: () => {}, onNotice: () => {} },
  )) {
    values.push(Buffer.from(toJsonString(NetworkEventSchema, event)));
    if (values.length === 1_000) break;
  }
  ctl.abort();
  const producer = new Producer({
    clientId: "freeze-test",
    bootstrapBrokers: brokers,
    acks: ProduceAcks.ALL,
  });
  try {
    for (let i = 0; i < EVENTS; i += 1_000) {
      await producer.send({
        messages: values.map((value, j) => ({
          topic: "telemetry",
          key: Buffer.from(`host-${(i + j) % 16}`),
          value,
        })),
      });
    }
  } finally {
    await producer.close();
  }
}

async function committedTotal(brokers: string[]): Promise<bigint> {
  let n = 0n;
  for (const c of (await committedOffsets(brokers, GROUP, "telemetry")).values())
    if (c > 0n) n += c;
  return n;
}

describe.skipIf(missing !== undefined)("scorers against a frozen broker", () => {
  it(`commits and answers all ${EVENTS} records after the broker stops answering for ${FREEZE_MS / 1000} s`, async () => {
    const b = broker as LocalBroker;
    await produceEvents(b.brokers);
    for (const name of ["scorer-x", "scorer-y"]) {
      scorers.push(
        spawnScorer([
          "--brokers",
          b.brokers.join(","),
          "--in",
          "telemetry",
          "--out",
          "verdicts",
          "--group",
          GROUP,
          "--client-id",
          name,
          "--session-timeout",
          "6000",
          "--stall-timeout",
          "3000",
          "--batch",
          "200",
        ]),
      );
    }
    const logs = () => scorers.map((s, n) => `--- scorer ${n}\n${s.log().slice(-3000)}`).join("\n");
    const diagnosed = async () =>
      (
        await Promise.all(
          scorers.map(
            async (s, n) => `--- scorer ${n}\n${s.log().slice(-3000)}\n${await s.diagnose()}`,
          ),
        )
      ).join("\n");
    try {
      await waitFor(
        "some records committed",
        async () => (await committedTotal(b.brokers)) > 0n,
        60_000,
        100,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await diagnosed()}`);
    }
    b.freeze();
    await new Promise((r) => setTimeout(r, FREEZE_MS));
    b.thaw();
    try {
      await waitFor(
        "the group to commit every record",
        async () => (await groupLag(b.brokers, GROUP, "telemetry")) === 0n,
        120_000,
        500,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await diagnosed()}`);
    }
    for (const s of scorers) s.child.kill("SIGTERM");
    const codes = await Promise.all(scorers.map((s) => s.exited));
    expect(codes, logs()).toEqual([0, 0]);

    // The freeze was noticed by a watchdog, not waited out.
    const stats = scorers.map((s) =>
      JSON.parse(/stopped: (\{[^}]*\})/.exec(s.log())?.[1]?.replace(/\\"/g, '"') ?? "{}"),
    );
    const noticed = stats.reduce(
      (n, st) => n + (st.stalls ?? 0) + (st.producerRestarts ?? 0) + (st.commitFailures ?? 0),
      0,
    );
    expect(noticed, logs()).toBeGreaterThan(0);

    const answered = new Set<string>();
    await readTopic(b.brokers, "verdicts", (m) => {
      const v = JSON.parse(m.value.toString()) as VerdictRecord;
      answered.add(`${v.input.partition}/${v.input.offset}`);
    });
    expect(answered.size).toBe(EVENTS);
    process.stdout.write(
      `kafka freeze: ${JSON.stringify({ events: EVENTS, freeze_ms: FREEZE_MS, scorers: stats })}\n`,
    );
  }, 240_000);
});
