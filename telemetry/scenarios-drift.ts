import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { simEvent } from "./sim-event.js";
import { SIM_HOSTS } from "./sim-network.js";
import { createSimRandom } from "./sim-random.js";
import { createSimulator, DEFAULT_START_MS, type ScenarioName } from "./simulator.js";

/** Label of the slow attack: one host beaconing to one destination, the same pattern for hours. */
export const SLOW_BEACON = "slow_beacon";

/** Ground truth of a drift-stream event. */
export interface DriftEvent {
  event: NetworkEvent;
  /** `"normal"`, a simulator scenario, or {@link SLOW_BEACON}. */
  label: "normal" | ScenarioName | typeof SLOW_BEACON;
  /** Whether the event comes before or after the change. */
  phase: "before" | "after";
  /** For the slow beacon: its repetition, from 1. */
  repetition?: number;
  /** For normal events after the change: which change made it look new, if one did. */
  change?: "rollout" | "moved" | undefined;
}

/** Options of {@link createDriftStream}. */
export interface DriftStreamOptions {
  /** Seed; equal seeds give equal streams. Default 1. */
  seed?: number;
  /** Stream start, ms since the epoch. Default Monday 2024-12-09T00:00Z (the week after the simulator's default). */
  startMs?: number;
  /** Days of stream. Default 5. */
  days?: number;
  /** Day (from 0) at whose midnight the network changes. Default 2. */
  changeDay?: number;
  /** Share of attack events, before and after. Default 0.01. */
  anomalyRate?: number;
  /** Hours the working day moves later at the change. Default 3. */
  shiftHours?: number;
  /** Share of post-change events from the new application. Default 0.08. */
  rolloutShare?: number;
  /** Hours after the change the slow beacon starts. Default 1. */
  beaconStartHours?: number;
  /** Minutes between beacons. Default 5. */
  beaconEveryMinutes?: number;
  /** Beacons sent. Default 150 (12.5 hours at 5 minutes). */
  beaconRepetitions?: number;
}

/** The application rolled out to every host at the change. */
export const ROLLOUT_APP = {
  path: "C:\\Program Files\\FleetSync\\fleetsync.exe",
  hash: "f1ee75c0a9b2",
  parent: "services.exe",
  user: "SYSTEM",
  domain: "api.fleetsync.io",
  ips: ["52.178.17.3", "52.178.17.4"],
} as const;

/** The service that moves to new addresses at the change, and where it moves. */
export const MOVED_SERVICE = {
  domain: "outlook.office365.com",
  ips: ["52.96.164.18", "52.96.165.50", "52.96.222.130"],
} as const;

/** The slow beacon: a renamed binary on one workstation calling home. */
export const BEACON = {
  host: "192.168.1.103",
  path: "C:\\Users\\User\\AppData\\Local\\Temp\\msupdate.exe",
  hash: "0badc0ffee01",
  parent: "explorer.exe",
  user: "User",
  domain: "cdn-telemetry-sync.net",
  ip: "185.225.69.41",
} as const;

const HOUR_MS = 3_600_000;

/**
 * A drifting network for the learning benchmark: the simulator's office for
 * `changeDay` days, then at midnight three changes at once — a new
 * application on every host (`ROLLOUT_APP`), an existing service on new
 * addresses (`MOVED_SERVICE`), and a working day `shiftHours` later — with
 * the simulator's attacks injected before and after, and from an hour after
 * the change a slow attack ({@link SLOW_BEACON}) repeating one pattern every
 * few minutes for hours. Timestamps never decrease. The default simulator's
 * output is untouched: this stream wraps it.
 */
export function createDriftStream(options: DriftStreamOptions = {}): Iterable<DriftEvent> {
  const seed = options.seed ?? 1;
  const startMs = options.startMs ?? DEFAULT_START_MS + 7 * 24 * HOUR_MS;
  const days = options.days ?? 5;
  const changeMs = startMs + (options.changeDay ?? 2) * 24 * HOUR_MS;
  const endMs = startMs + days * 24 * HOUR_MS;
  const anomalyRate = options.anomalyRate ?? 0.01;
  const shiftMs = (options.shiftHours ?? 3) * HOUR_MS;
  const rolloutShare = options.rolloutShare ?? 0.08;
  const beaconStart = changeMs + (options.beaconStartHours ?? 1) * HOUR_MS;
  const beaconEvery = (options.beaconEveryMinutes ?? 5) * 60_000;
  const beaconReps = options.beaconRepetitions ?? 150;
  const rng = createSimRandom(seed * 7919 + 17);

  return {
    *[Symbol.iterator]() {
      const before = createSimulator({ seed, startMs, anomalyRate });
      for (;;) {
        const { event, label } = before.next();
        if (before.nowMs >= changeMs) break;
        yield { event, label, phase: "before" };
      }
      const after = afterChange(seed, changeMs, shiftMs, anomalyRate);
      let beacon = 0;
      const beaconAt = () => beaconStart + beacon * beaconEvery;
      for (;;) {
        const { event, label } = after.next();
        const t = eventTime(event);
        while (beacon < beaconReps && beaconAt() <= t) {
          beacon++;
          yield {
            event: beaconEvent(beaconAt() - beaconEvery, rng),
            label: SLOW_BEACON,
            phase: "after",
            repetition: beacon,
          };
        }
        if (t >= endMs) return;
        if (label === "normal" && rng.next() < rolloutShare) {
          const host = SIM_HOSTS[Math.floor(rng.next() * SIM_HOSTS.length)];
          yield {
            event: simEvent({
              timeMs: t,
              processPath: ROLLOUT_APP.path,
              processHash: ROLLOUT_APP.hash,
              sourceIp: host?.ip ?? "192.168.1.100",
              destIp: rng.pick(ROLLOUT_APP.ips),
              destDomain: ROLLOUT_APP.domain,
              destPort: 443,
              bytesSent: rng.logNormal(2_400, 0.5),
              bytesRecv: rng.logNormal(6_000, 0.6),
              protocol: "TCP",
              dnsQuery: "",
              parentProcess: ROLLOUT_APP.parent,
              userContext: ROLLOUT_APP.user,
            }),
            label: "normal",
            phase: "after",
            change: "rollout",
          };
          continue;
        }
        let change: DriftEvent["change"];
        if (label === "normal" && event.destDomain === MOVED_SERVICE.domain) {
          event.destIp = rng.pick(MOVED_SERVICE.ips);
          change = "moved";
        }
        yield { event, label, phase: "after", change };
      }
    },
  };
}

function eventTime(event: NetworkEvent): number {
  const t = event.timestamp;
  return t === undefined ? 0 : Number(t.seconds) * 1000 + t.nanos / 1e6;
}

/**
 * The office after the change: people work `shiftMs` later, so what they
 * drive (user processes, and workstation services, which follow their
 * users) comes from a simulator whose clock runs `shiftMs` behind, its
 * times moved forward; scheduled work (the night jobs, the file server)
 * and the attacks keep the clock. The two streams are merged in time order.
 */
function afterChange(seed: number, changeMs: number, shiftMs: number, anomalyRate: number) {
  const people = new Set<string>();
  for (const h of SIM_HOSTS)
    for (const p of h.processes)
      if (h.role !== "server" && p.kind !== "night") people.add(`${h.ip}|${p.path}`);
  const isPeople = (e: NetworkEvent) => people.has(`${e.sourceIp}|${e.processPath}`);
  const shiftedSim = createSimulator({ seed: seed + 1, startMs: changeMs - shiftMs });
  const clockSim = createSimulator({ seed: seed + 2, startMs: changeMs, anomalyRate });
  const pull = (
    sim: ReturnType<typeof createSimulator>,
    keep: (l: { event: NetworkEvent; label: DriftEvent["label"] }) => boolean,
    offsetMs: number,
  ) => {
    for (;;) {
      const l = sim.next();
      if (!keep(l)) continue;
      const t = l.event.timestamp;
      if (offsetMs !== 0 && t !== undefined)
        l.event.timestamp = { ...t, seconds: t.seconds + BigInt(offsetMs / 1000) };
      if (eventTime(l.event) >= changeMs) return l;
    }
  };
  const nextShifted = () =>
    pull(shiftedSim, (l) => l.label === "normal" && isPeople(l.event), shiftMs);
  const nextClock = () => pull(clockSim, (l) => l.label !== "normal" || !isPeople(l.event), 0);
  let a = nextShifted();
  let b = nextClock();
  return {
    next(): { event: NetworkEvent; label: DriftEvent["label"] } {
      if (eventTime(a.event) <= eventTime(b.event)) {
        const out = a;
        a = nextShifted();
        return out;
      }
      const out = b;
      b = nextClock();
      return out;
    },
  };
}

function beaconEvent(timeMs: number, rng: ReturnType<typeof createSimRandom>): NetworkEvent {
  return simEvent({
    timeMs,
    processPath: BEACON.path,
    processHash: BEACON.hash,
    sourceIp: BEACON.host,
    destIp: BEACON.ip,
    destDomain: BEACON.domain,
    destPort: 443,
    bytesSent: rng.logNormal(900, 0.1),
    bytesRecv: rng.logNormal(300, 0.1),
    protocol: "TCP",
    dnsQuery: "",
    parentProcess: BEACON.parent,
    userContext: BEACON.user,
  });
}
