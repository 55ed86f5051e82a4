import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import {
  AnomalySchema,
  WatchAnomaliesResponseSchema,
  WatchStatsSchema,
} from "../../gen/netanomaly/v1/scoring_service_pb.js";
import { FEED_CAPACITY, FeedStore, HEAT_MINUTES } from "./feed-store.js";

const anomaly = (sequence: number, timeMs: number, sourceIp = "10.0.0.1") =>
  create(AnomalySchema, {
    alertId: "al_1",
    sequence: BigInt(sequence),
    time: timestampFromMs(timeMs),
    score: 0.8,
    threshold: 0.6,
    event: {
      sourceIp,
      processPath: "/usr/bin/nc",
      destIp: "203.0.113.5",
      destPort: 4444,
      protocol: "TCP",
    },
  });

describe("FeedStore", () => {
  it("keeps a replayed backlog once, and identical events scored apart twice", () => {
    const store = new FeedStore();
    const now = Date.now();
    const first = [anomaly(1, now), anomaly(2, now)];
    expect(store.add(create(WatchAnomaliesResponseSchema, { anomalies: first }))).toBe(2);
    // The reconnect's backlog repeats both, then a new one.
    const again = [...first, anomaly(3, now)];
    expect(store.add(create(WatchAnomaliesResponseSchema, { anomalies: again }))).toBe(1);
    expect(store.items.map((i) => i.anomaly.sequence)).toEqual([1n, 2n, 3n]);
    expect(store.items[0]?.destination).toBe("203.0.113.5:4444/TCP");
    expect(store.heat.get(Math.floor(now / 60_000))?.get("10.0.0.1")).toBe(3);
  });

  it("forgets the oldest anomalies past its capacity and old heat-map minutes", () => {
    const store = new FeedStore();
    const now = Date.now();
    const old = anomaly(1, now - (HEAT_MINUTES + 1) * 60_000, "10.9.9.9");
    const many = Array.from({ length: FEED_CAPACITY + 5 }, (_, i) => anomaly(i + 2, now));
    store.add(create(WatchAnomaliesResponseSchema, { anomalies: [old, ...many] }));
    expect(store.items).toHaveLength(FEED_CAPACITY);
    expect(store.items[0]?.anomaly.sequence).toBe(7n);
    expect([...store.heat.values()].some((row) => row.has("10.9.9.9"))).toBe(false);
  });

  it("keeps the last stats and a bounded series of rates", () => {
    const store = new FeedStore();
    for (let i = 0; i < 310; i++) {
      const stats = create(WatchStatsSchema, {
        time: timestampFromMs(1_000_000 + i * 1000),
        eventsPerSecond: i,
        anomaliesPerSecond: 1,
      });
      store.add(create(WatchAnomaliesResponseSchema, { stats, dropped: 1n }));
    }
    expect(store.rates.t).toHaveLength(300);
    expect(store.rates.events.at(-1)).toBe(309);
    expect(store.stats?.eventsPerSecond).toBe(309);
    expect(store.dropped).toBe(310);
  });
});
