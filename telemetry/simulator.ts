import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import {
  type AttackEpisode,
  MEAN_EPISODE_LENGTH,
  SCENARIOS,
  type ScenarioName,
  startEpisode,
} from "./scenarios.js";
import { simEvent } from "./sim-event.js";
import {
  activity,
  QUERY_DOMAINS,
  SIM_HOSTS,
  type SimHost,
  type SimProcess,
} from "./sim-network.js";
import { createSimRandom } from "./sim-random.js";

export type { ScenarioName } from "./scenarios.js";
export { isScenarioName, SCENARIOS } from "./scenarios.js";

/** An event with the ground truth: `"normal"` or the attack scenario that produced it. */
export interface LabelledEvent {
  event: NetworkEvent;
  label: "normal" | ScenarioName;
}

/** Options of `createSimulator`. */
export interface SimulatorOptions {
  /** Seed of the generator; equal seeds give equal event streams. Default 1. */
  seed?: number;
  /** Timestamp of the simulated clock's start, ms since the epoch. Default 2024-12-02T00:00:00Z (a Monday). */
  startMs?: number;
  /** Share of events that belong to an attack, in [0, 1]. Default 0. */
  anomalyRate?: number;
  /** Scenarios to inject, default all of `SCENARIOS`. */
  scenarios?: readonly ScenarioName[];
  /**
   * Mean gap between events at full working-hours activity, in ms. Nights
   * and weekends are slower in proportion to their activity. Default 12,000.
   */
  meanGapMs?: number;
}

/** A seeded, endless stream of labelled telemetry. */
export interface Simulator {
  /** The next event; timestamps never decrease. */
  next(): LabelledEvent;
  /** The simulated clock, ms since the epoch. */
  readonly nowMs: number;
}

/** Default clock start: Monday 2024-12-02T00:00:00Z, the week of the seed CSV. */
export const DEFAULT_START_MS = Date.UTC(2024, 11, 2);

interface Stream {
  host: SimHost;
  process: SimProcess;
}

const HOUR_MS = 3_600_000;

/**
 * Creates a simulator of an eight-host office network (see `sim-network.ts`)
 * with attacks from `scenarios.ts` mixed in.
 *
 * Normal connections follow a weekday/working-hours rhythm; each connection
 * picks a host and process in proportion to their activity at that hour, one
 * of the process's usual destinations, and byte counts drawn log-normally
 * around that destination's baseline. With probability `anomalyRate` an event
 * instead comes from an attack episode; episodes of longer scenarios are
 * started less often, so every scenario gets about the same share of events.
 *
 * @example
 * const sim = createSimulator({ seed: 7, anomalyRate: 0.01 });
 * const { event, label } = sim.next();
 */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const seed = options.seed ?? 1;
  const anomalyRate = options.anomalyRate ?? 0;
  const scenarios = options.scenarios ?? SCENARIOS;
  const meanGapMs = options.meanGapMs ?? 12_000;
  if (!(anomalyRate >= 0 && anomalyRate <= 1)) {
    throw new RangeError(`anomalyRate must be in [0, 1], got ${anomalyRate}`);
  }
  if (anomalyRate > 0 && scenarios.length === 0) {
    throw new RangeError("scenarios must not be empty when anomalyRate > 0");
  }
  if (!(meanGapMs > 0)) throw new RangeError(`meanGapMs must be > 0, got ${meanGapMs}`);

  const rng = createSimRandom(seed);
  let now = options.startMs ?? DEFAULT_START_MS;

  const streams: Stream[] = [];
  for (const host of SIM_HOSTS)
    for (const process of host.processes) streams.push({ host, process });
  const cumulative = new Float64Array(streams.length);
  let total = 0;
  let peakTotal = 0;
  for (const s of streams) peakTotal += s.process.weight;
  let cachedHour = Number.NaN;

  // Weights change only with the hour of the week: recompute once per hour.
  const refreshWeights = (hourIndex: number) => {
    const date = new Date(hourIndex * HOUR_MS);
    const day = date.getUTCDay();
    const hour = date.getUTCHours();
    total = 0;
    for (let i = 0; i < streams.length; i++) {
      const { host, process: p } = streams[i] as Stream;
      total += p.weight * activity(p.kind, day, hour, host.role);
      cumulative[i] = total;
    }
    cachedHour = hourIndex;
  };

  // Inverse-length weights give each scenario about the same share of events.
  const scenarioCum = new Float64Array(scenarios.length);
  let scenarioTotal = 0;
  scenarios.forEach((name, i) => {
    scenarioTotal += 1 / MEAN_EPISODE_LENGTH[name];
    scenarioCum[i] = scenarioTotal;
  });
  let episode: AttackEpisode | undefined;

  const pickIndex = (cum: Float64Array, sum: number): number => {
    const x = rng.next() * sum;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cum[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };

  const advance = () => {
    const hourIndex = Math.floor(now / HOUR_MS);
    if (hourIndex !== cachedHour) refreshWeights(hourIndex);
    now += rng.exponential((meanGapMs * peakTotal) / total);
  };

  const normal = (): NetworkEvent => {
    const { host, process } = streams[pickIndex(cumulative, total)] as Stream;
    const dests = process.destinations;
    const d =
      dests[
        dests.length === 1
          ? 0
          : pickIndex(process.cumulative, process.cumulative[dests.length - 1] as number)
      ];
    if (d === undefined) throw new Error("unreachable: process without destinations");
    const destIp = d.ips.length === 1 ? (d.ips[0] as string) : rng.pick(d.ips);
    let dnsQuery = "";
    let sent = d.sent;
    if (d.resolver) {
      dnsQuery = QUERY_DOMAINS[Math.floor(QUERY_DOMAINS.length * rng.next() ** 2)] as string;
      sent += dnsQuery.length;
    } else if (d.dnsShare > 0 && rng.next() < d.dnsShare) {
      dnsQuery = d.domain;
    }
    return simEvent({
      timeMs: now,
      processPath: process.path,
      processHash: process.hash,
      sourceIp: host.ip,
      destIp,
      destDomain: d.domain,
      destPort: d.port,
      bytesSent: rng.logNormal(sent, d.sigma),
      bytesRecv: rng.logNormal(d.recv, d.sigma),
      protocol: d.protocol,
      dnsQuery,
      parentProcess: process.parent,
      userContext: process.user,
    });
  };

  return {
    get nowMs() {
      return now;
    },
    next(): LabelledEvent {
      advance();
      if (anomalyRate > 0 && rng.next() < anomalyRate) {
        if (episode === undefined || episode.remaining <= 0) {
          const name = scenarios[pickIndex(scenarioCum, scenarioTotal)] as ScenarioName;
          episode = startEpisode(name, rng);
        }
        episode.remaining--;
        return { event: episode.emit(rng, now), label: episode.scenario };
      }
      return { event: normal(), label: "normal" };
    },
  };
}
