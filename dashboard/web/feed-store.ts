import { timestampMs } from "@bufbuild/protobuf/wkt";
import type {
  Anomaly,
  WatchAnomaliesResponse,
  WatchStats,
} from "../../gen/netanomaly/v1/scoring_service_pb.js";

/** Anomalies the page keeps, newest last; older ones are forgotten. */
export const FEED_CAPACITY = 1000;
/** Minutes of the heat map. */
export const HEAT_MINUTES = 15;
/** Stats points of the rates chart (about five minutes). */
export const RATE_POINTS = 300;

/** One anomaly as the page shows it. */
export interface FeedItem {
  /** Unique within the page: time scored and the server's sequence number. */
  key: string;
  timeMs: number;
  host: string;
  process: string;
  destination: string;
  anomaly: Anomaly;
}

/** The host an anomaly is counted against: its source address. */
export function hostOf(a: Anomaly): string {
  return a.event?.sourceIp || "(no source address)";
}

/**
 * Everything the page shows, bounded: a ring of {@link FEED_CAPACITY}
 * anomalies, anomaly counts per host and minute for the last
 * {@link HEAT_MINUTES} minutes, and the last {@link RATE_POINTS} rates.
 * Replays after a reconnect are recognised and not counted twice.
 */
export class FeedStore {
  readonly items: FeedItem[] = [];
  private readonly keys = new Set<string>();
  /** minute (ms since the epoch / 60 000) → host → count. */
  readonly heat = new Map<number, Map<string, number>>();
  readonly rates: { t: number[]; events: number[]; anomalies: number[] } = {
    t: [],
    events: [],
    anomalies: [],
  };
  stats: WatchStats | undefined;
  /** Anomalies the server dropped for this page because it read too slowly. */
  dropped = 0;

  /** Takes one response; returns the number of new anomalies. */
  add(res: WatchAnomaliesResponse): number {
    let added = 0;
    for (const a of res.anomalies) {
      const timeMs = a.time === undefined ? Date.now() : timestampMs(a.time);
      const key = `${timeMs}|${a.sequence}`;
      if (this.keys.has(key)) continue;
      this.keys.add(key);
      const ev = a.event;
      this.items.push({
        key,
        timeMs,
        host: hostOf(a),
        process: ev?.processPath ?? "",
        destination: `${ev?.destDomain || ev?.destIp || "?"}:${ev?.destPort ?? 0}${ev?.protocol ? `/${ev.protocol}` : ""}`,
        anomaly: a,
      });
      const minute = Math.floor(timeMs / 60_000);
      const row = this.heat.get(minute) ?? new Map<string, number>();
      row.set(hostOf(a), (row.get(hostOf(a)) ?? 0) + 1);
      this.heat.set(minute, row);
      added++;
    }
    while (this.items.length > FEED_CAPACITY) {
      const old = this.items.shift() as FeedItem;
      this.keys.delete(old.key);
    }
    this.dropped += Number(res.dropped);
    if (res.stats !== undefined) {
      this.stats = res.stats;
      const t = res.stats.time === undefined ? Date.now() : timestampMs(res.stats.time);
      this.rates.t.push(t / 1000);
      this.rates.events.push(res.stats.eventsPerSecond);
      this.rates.anomalies.push(res.stats.anomaliesPerSecond);
      if (this.rates.t.length > RATE_POINTS) {
        this.rates.t.shift();
        this.rates.events.shift();
        this.rates.anomalies.shift();
      }
    }
    this.pruneHeat(Date.now());
    return added;
  }

  /** Forgets heat-map minutes older than {@link HEAT_MINUTES}. */
  pruneHeat(nowMs: number): void {
    const oldest = Math.floor(nowMs / 60_000) - HEAT_MINUTES + 1;
    for (const minute of this.heat.keys()) {
      if (minute < oldest) this.heat.delete(minute);
    }
  }
}
