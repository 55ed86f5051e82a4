import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Contribution, Detector } from "../detector/detector.js";
import type {
  Anomaly,
  ModelStatus,
  WatchAnomaliesResponse,
  WatchStats,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { alertId } from "./alert-id.js";

/** Anomalies the broadcaster keeps for watchers that join later. */
export const RING_SIZE = 500;
/** Anomalies one watcher may have waiting before the oldest are dropped. */
export const WATCHER_QUEUE = 1000;
/** Buckets of the score histogram, equal width over [0, 1]. */
export const HISTOGRAM_BUCKETS = 20;
/** Stats intervals the histogram sums over (a minute at the default interval). */
const HISTOGRAM_WINDOW = 60;
/** Shortest gap between two responses carrying anomalies, per watcher, ms. */
const FLUSH_MS = 100;

/** One anomaly as the scoring path reports it. */
export interface AnomalyRecord {
  event: NetworkEvent;
  score: number;
  threshold: number;
  modelVersion: string;
  contributions: readonly Contribution[];
  /** When it was scored, ms since the epoch. */
  timeMs: number;
  /** Set by the broadcaster: position since start, from 1. */
  sequence?: number;
}

/**
 * What the scoring path tells the broadcaster, once per request or stream
 * batch (the shape of the server's `ScoringObserver`). Costs one add per
 * batch and one ring write per anomaly; scores are read one by one only
 * while someone watches.
 */
export interface BroadcastObserver {
  scored(
    detector: Detector,
    scores: ArrayLike<number>,
    n: number,
    anomalies: readonly {
      event: NetworkEvent;
      score: number;
      contributions: readonly Contribution[];
    }[],
  ): void;
  rejected(field: string, n: number): void;
  rateLimited(): void;
}

/** How a model reload ended, as `model-reload.ts` reports it. */
export type ReloadNote =
  | { status: "swapped" | "unchanged" }
  | { status: "rejected"; reason: string };

/** Options for {@link createAnomalyBroadcaster}. */
export interface AnomalyBroadcasterOptions {
  /** Where the served model comes from (a `ModelHolder`). */
  models: { current(): Detector | undefined; onSwap(listener: (d: Detector) => void): unknown };
  /** Milliseconds between stats; default 1000. */
  statsIntervalMs?: number;
  /** Clock, ms since the epoch; default `Date.now`. */
  now?: () => number;
}

/** Fans anomalies and stats out to `WatchAnomalies` streams. */
export interface AnomalyBroadcaster {
  /** Join into the server's scoring observer. */
  readonly observer: BroadcastObserver;
  /**
   * One watch: replays up to `backlog` kept anomalies with the first stats,
   * then yields new anomalies (at most every 100 ms) and stats (every
   * interval) until `signal` aborts (the stream just ends) or `closing`
   * aborts (it ends with `unavailable`, so the client reconnects).
   */
  watch(
    backlog: number,
    signal: AbortSignal,
    closing?: AbortSignal,
  ): AsyncGenerator<WatchAnomaliesResponse>;
  /** Records how a reload ended, for the model status. */
  noteReload(note: ReloadNote): void;
  /** Number of open watches. */
  readonly watchers: number;
}

interface Watcher {
  pending: AnomalyRecord[];
  dropped: number;
  stats: WatchStats | undefined;
  wake: (() => void) | undefined;
}

/** Creates an {@link AnomalyBroadcaster}; its stats timer runs only while someone watches. */
export function createAnomalyBroadcaster(options: AnomalyBroadcasterOptions): AnomalyBroadcaster {
  const now = options.now ?? Date.now;
  const intervalMs = options.statsIntervalMs ?? 1000;
  const ring: AnomalyRecord[] = [];
  let ringStart = 0;
  const watchers = new Set<Watcher>();
  let eventsTotal = 0;
  let anomaliesTotal = 0;
  const windows = Array.from(
    { length: HISTOGRAM_WINDOW },
    () => new Uint32Array(HISTOGRAM_BUCKETS),
  );
  let slot = 0;
  let loadedMs = options.models.current() === undefined ? undefined : now();
  let reload: { timeMs: number; note: ReloadNote } | undefined;
  options.models.onSwap(() => {
    loadedMs = now();
  });
  let timer: NodeJS.Timeout | undefined;
  let last = { timeMs: now(), events: 0, anomalies: 0 };

  const sink = {
    publish(anomaly: AnomalyRecord) {
      anomaliesTotal++;
      anomaly.sequence = anomaliesTotal;
      if (ring.length < RING_SIZE) {
        ring.push(anomaly);
      } else {
        ring[ringStart] = anomaly;
        ringStart = (ringStart + 1) % RING_SIZE;
      }
      for (const w of watchers) {
        if (w.pending.length >= WATCHER_QUEUE) {
          w.pending.shift();
          w.dropped++;
        }
        w.pending.push(anomaly);
        w.wake?.();
      }
    },
  };

  const observer: BroadcastObserver = {
    scored(detector, scores, n, anomalies) {
      eventsTotal += n;
      if (watchers.size > 0) {
        const counts = windows[slot] as Uint32Array;
        for (let i = 0; i < n; i++) {
          const b = Math.floor((scores[i] as number) * HISTOGRAM_BUCKETS);
          counts[Math.min(HISTOGRAM_BUCKETS - 1, Math.max(0, b))]++;
        }
      }
      if (anomalies.length === 0) return;
      const timeMs = now();
      for (const a of anomalies) {
        sink.publish({
          event: a.event,
          score: a.score,
          contributions: a.contributions,
          threshold: detector.threshold,
          modelVersion: detector.info.version,
          timeMs,
        });
      }
    },
    rejected() {},
    rateLimited() {},
  };

  const modelStatus = (): ModelStatus => {
    const detector = options.models.current();
    return {
      $typeName: "netanomaly.v1.ModelStatus",
      modelVersion: detector?.info.version ?? "",
      trainingRows: BigInt(detector?.info.trainingRows ?? 0),
      threshold: detector?.threshold ?? 0,
      loadedTime: loadedMs === undefined ? undefined : timestampFromMs(loadedMs),
      lastReloadTime: reload === undefined ? undefined : timestampFromMs(reload.timeMs),
      lastReloadOutcome: reload?.note.status ?? "",
      lastReloadMessage: reload?.note.status === "rejected" ? reload.note.reason : "",
    };
  };

  const stats = (): WatchStats => {
    const t = now();
    const seconds = Math.max(0.001, (t - last.timeMs) / 1000);
    const histogram = new Array<bigint>(HISTOGRAM_BUCKETS);
    for (let b = 0; b < HISTOGRAM_BUCKETS; b++) {
      let sum = 0;
      for (const w of windows) sum += w[b] as number;
      histogram[b] = BigInt(sum);
    }
    return {
      $typeName: "netanomaly.v1.WatchStats",
      time: timestampFromMs(t),
      eventsPerSecond: (eventsTotal - last.events) / seconds,
      anomaliesPerSecond: (anomaliesTotal - last.anomalies) / seconds,
      eventsTotal: BigInt(eventsTotal),
      anomaliesTotal: BigInt(anomaliesTotal),
      scoreHistogram: histogram,
      model: modelStatus(),
    };
  };

  const tick = () => {
    const s = stats();
    last = { timeMs: now(), events: eventsTotal, anomalies: anomaliesTotal };
    slot = (slot + 1) % HISTOGRAM_WINDOW;
    (windows[slot] as Uint32Array).fill(0);
    for (const w of watchers) {
      w.stats = s;
      w.wake?.();
    }
  };

  const recent = (n: number): AnomalyRecord[] => {
    const ordered = [...ring.slice(ringStart), ...ring.slice(0, ringStart)];
    return n <= 0 ? [] : ordered.slice(-n);
  };

  async function* watch(
    backlog: number,
    signal: AbortSignal,
    closing?: AbortSignal,
  ): AsyncGenerator<WatchAnomaliesResponse> {
    if (closing?.aborted) throw shuttingDown();
    const w: Watcher = {
      pending: recent(Math.min(backlog, RING_SIZE)),
      dropped: 0,
      stats: undefined,
      wake: undefined,
    };
    if (watchers.size === 0) {
      last = { timeMs: now(), events: eventsTotal, anomalies: anomaliesTotal };
      for (const h of windows) h.fill(0);
      timer = setInterval(tick, intervalMs);
      timer.unref();
    }
    watchers.add(w);
    const stop = () => w.wake?.();
    signal.addEventListener("abort", stop);
    closing?.addEventListener("abort", stop);
    try {
      w.stats = stats();
      let lastFlush = 0;
      for (;;) {
        if (closing?.aborted) throw shuttingDown();
        if (signal.aborted) return;
        if (w.stats === undefined && w.pending.length === 0) {
          await new Promise<void>((resolve) => {
            w.wake = resolve;
          });
          w.wake = undefined;
          continue;
        }
        if (w.stats === undefined && now() - lastFlush < FLUSH_MS) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, FLUSH_MS);
            w.wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          w.wake = undefined;
          if (signal.aborted || closing?.aborted) continue;
        }
        const batch = w.pending;
        w.pending = [];
        const response: WatchAnomaliesResponse = {
          $typeName: "netanomaly.v1.WatchAnomaliesResponse",
          anomalies: batch.map(toWire),
          stats: w.stats,
          dropped: BigInt(w.dropped),
        };
        w.stats = undefined;
        w.dropped = 0;
        lastFlush = now();
        yield response;
      }
    } finally {
      watchers.delete(w);
      signal.removeEventListener("abort", stop);
      closing?.removeEventListener("abort", stop);
      if (watchers.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    }
  }

  return {
    observer,
    watch,
    noteReload(note) {
      reload = { timeMs: now(), note };
    },
    get watchers() {
      return watchers.size;
    },
  };
}

const alertIds = new WeakMap<AnomalyRecord, string>();

function toWire(a: AnomalyRecord): Anomaly {
  let id = alertIds.get(a);
  if (id === undefined) {
    id = alertId(a.event, a.contributions, a.modelVersion, a.timeMs);
    alertIds.set(a, id);
  }
  return {
    $typeName: "netanomaly.v1.Anomaly",
    alertId: id,
    time: timestampFromMs(a.timeMs),
    event: a.event,
    score: a.score,
    threshold: a.threshold,
    modelVersion: a.modelVersion,
    sequence: BigInt(a.sequence ?? 0),
    contributions: a.contributions.map((c) => ({
      $typeName: "netanomaly.v1.FeatureContribution",
      feature: c.feature,
      contribution: c.contribution,
      value: c.value,
    })),
  };
}

function shuttingDown(): ConnectError {
  return new ConnectError("server is shutting down; reconnect", Code.Unavailable);
}
