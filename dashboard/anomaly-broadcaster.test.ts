import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import type { Detector } from "../detector/detector.js";
import { loadModel } from "../detector/index.js";
import type { WatchAnomaliesResponse } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import {
  type AnomalyBroadcaster,
  createAnomalyBroadcaster,
  HISTOGRAM_BUCKETS,
  RING_SIZE,
} from "./anomaly-broadcaster.js";

let detector: Detector;
beforeAll(async () => {
  detector = await loadModel(join(import.meta.dirname, "../models/default.model.json"));
});

const anomaly = (i: number) => ({
  event: create(NetworkEventSchema, {
    sourceIp: `10.0.0.${i % 250}`,
    destIp: "203.0.113.1",
    destPort: 4444,
  }),
  score: 0.9,
  contributions: [{ feature: "dest_port_rarity", contribution: 1, value: 2 }],
});

function setup(): { broadcaster: AnomalyBroadcaster; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  const broadcaster = createAnomalyBroadcaster({
    models: { current: () => detector, onSwap: () => {} },
    statsIntervalMs: 3_600_000, // ticks only by hand here: the first response carries stats
    now: () => clock.t,
  });
  return { broadcaster, clock };
}

describe("createAnomalyBroadcaster()", () => {
  it("replays at most the ring's newest anomalies first, with stats and the model", async () => {
    const { broadcaster } = setup();
    const all = Array.from({ length: RING_SIZE + 20 }, (_, i) => anomaly(i));
    broadcaster.observer.scored(detector, new Float64Array(all.length).fill(0.9), all.length, all);
    const abort = new AbortController();
    const watch = broadcaster.watch(1000, abort.signal);
    const first = (await watch.next()).value as WatchAnomaliesResponse;
    expect(first.anomalies).toHaveLength(RING_SIZE);
    expect(first.anomalies[0]?.event?.sourceIp).toBe("10.0.0.20");
    expect(first.anomalies.at(-1)?.sequence).toBe(BigInt(RING_SIZE + 20));
    expect(first.anomalies[0]?.alertId).toMatch(/^al_[0-9a-f]{24}$/);
    expect(first.anomalies[0]?.threshold).toBe(detector.threshold);
    expect(first.stats?.eventsTotal).toBe(BigInt(RING_SIZE + 20));
    expect(first.stats?.model?.modelVersion).toBe(detector.info.version);
    expect(first.stats?.model?.trainingRows).toBe(BigInt(detector.info.trainingRows));
    expect(first.stats?.scoreHistogram).toHaveLength(HISTOGRAM_BUCKETS);
    abort.abort();
    await watch.return(undefined);
    expect(broadcaster.watchers).toBe(0);
  });

  it("hands new anomalies to open watches and counts scores in the histogram", async () => {
    const { broadcaster } = setup();
    const abort = new AbortController();
    const watch = broadcaster.watch(0, abort.signal);
    expect(((await watch.next()).value as WatchAnomaliesResponse).anomalies).toEqual([]);
    broadcaster.observer.scored(detector, [0.42, 0.97, 1], 3, [anomaly(1)]);
    const next = (await watch.next()).value as WatchAnomaliesResponse;
    expect(next.anomalies.map((a) => a.event?.sourceIp)).toEqual(["10.0.0.1"]);
    // A second watch's first stats read the histogram of the window so far.
    const second = new AbortController();
    const other = broadcaster.watch(0, second.signal);
    const stats = ((await other.next()).value as WatchAnomaliesResponse).stats;
    const h = stats?.scoreHistogram.map(Number) ?? [];
    expect(h[8]).toBe(1); // 0.42 is in [0.40, 0.45)
    expect(h[19]).toBe(2); // 0.97 and 1 are in the last bucket
    expect(h.reduce((x, y) => x + y, 0)).toBe(3);
    expect(stats?.eventsTotal).toBe(3n);
    expect(stats?.anomaliesTotal).toBe(1n);
    abort.abort();
    second.abort();
    await watch.return(undefined);
    await other.return(undefined);
    expect(broadcaster.watchers).toBe(0);
  });

  it("ends watches with unavailable when the server starts closing", async () => {
    const { broadcaster } = setup();
    const closing = new AbortController();
    const watch = broadcaster.watch(0, new AbortController().signal, closing.signal);
    await watch.next();
    const pending = watch.next();
    closing.abort();
    const err = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect(broadcaster.watchers).toBe(0);
  });

  it("records the last reload's outcome for the model status", async () => {
    const { broadcaster, clock } = setup();
    clock.t = 2_000_000;
    broadcaster.noteReload({ status: "rejected", reason: "model.json:1: not JSON" });
    const abort = new AbortController();
    const watch = broadcaster.watch(0, abort.signal);
    const model = ((await watch.next()).value as WatchAnomaliesResponse).stats?.model;
    expect(model?.lastReloadOutcome).toBe("rejected");
    expect(model?.lastReloadMessage).toBe("model.json:1: not JSON");
    expect(Number(model?.lastReloadTime?.seconds)).toBe(2000);
    abort.abort();
    await watch.return(undefined);
  });
});
