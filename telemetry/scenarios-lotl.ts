import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { simEvent } from "./sim-event.js";
import {
  publicIps,
  SIM_HOSTS,
  type SimDestination,
  type SimHost,
  type SimProcess,
} from "./sim-network.js";
import type { SimRandom } from "./sim-random.js";

/**
 * Attacks that live off the land: each uses a program the victim host
 * already runs, its usual binary, parent and user, and differs from normal
 * traffic in one or two context fields only. Kept out of the simulator's
 * default mix (the quick start and the committed data stay as they were);
 * `bench:quality` and `generate:data -- --scenarios lotl` use them.
 */
export const LOTL_SCENARIOS = [
  "browser_upload",
  "off_hours_mail",
  "odd_parent",
  "lookalike_domain",
] as const;

/** One living-off-the-land scenario's label. */
export type LotlScenarioName = (typeof LOTL_SCENARIOS)[number];

/** Mean connections per episode. */
export const LOTL_EPISODE_LENGTH: Readonly<Record<LotlScenarioName, number>> = {
  browser_upload: 4,
  off_hours_mail: 4,
  odd_parent: 10,
  lookalike_domain: 8,
};

type Emitter = (rng: SimRandom, timeMs: number) => NetworkEvent;

const BROWSERS = /\\(chrome|firefox|msedge)\.exe$/i;
const MAIL = /\\outlook\.exe$/i;
const UPDATERS = /\\(svchost|WindowsUpdate|WindowsDefender)\.exe$/i;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A time on the same UTC day as `timeMs`, between `fromHour` and `toHour`. */
function sameDayAt(rng: SimRandom, timeMs: number, fromHour: number, toHour: number): number {
  return Math.floor(timeMs / DAY_MS) * DAY_MS + rng.range(fromHour, toHour) * HOUR_MS;
}

/** A host with a process matching `re`, and that process. */
function pickRunning(rng: SimRandom, re: RegExp): { host: SimHost; process: SimProcess } {
  const candidates: { host: SimHost; process: SimProcess }[] = [];
  for (const host of SIM_HOSTS) {
    if (host.role === "server") continue;
    for (const process of host.processes)
      if (re.test(process.path)) candidates.push({ host, process });
  }
  return rng.pick(candidates);
}

/** One of the process's usual destinations on port 443, by weight. */
function usualWebDest(rng: SimRandom, p: SimProcess): SimDestination {
  const web = p.destinations.filter((d) => d.port === 443 && !d.resolver);
  const pool = web.length > 0 ? web : p.destinations;
  let total = 0;
  for (const d of pool) total += d.weight;
  let x = rng.next() * total;
  for (const d of pool) {
    x -= d.weight;
    if (x <= 0) return d;
  }
  return pool[pool.length - 1] as SimDestination;
}

function connection(
  host: SimHost,
  p: SimProcess,
  d: { domain: string; ip: string; port: number; protocol: string },
  timeMs: number,
  sent: number,
  recv: number,
  dnsQuery: string,
  parent = p.parent,
): NetworkEvent {
  return simEvent({
    timeMs,
    processPath: p.path,
    processHash: p.hash,
    sourceIp: host.ip,
    destIp: d.ip,
    destDomain: d.domain,
    destPort: d.port,
    bytesSent: sent,
    bytesRecv: recv,
    protocol: d.protocol,
    dnsQuery,
    parentProcess: parent,
    userContext: p.user,
  });
}

/** The everyday browser uploading tens of megabytes to a site it always uses, in working hours. */
function browserUpload(rng: SimRandom): Emitter {
  const { host, process } = pickRunning(rng, BROWSERS);
  const d = usualWebDest(rng, process);
  const size = rng.logUniform(20e6, 80e6);
  return (r, timeMs) =>
    connection(
      host,
      process,
      { domain: d.domain, ip: r.pick(d.ips), port: d.port, protocol: d.protocol },
      sameDayAt(r, timeMs, 9, 17),
      r.logNormal(size, 0.2),
      r.logNormal(d.recv, d.sigma),
      r.chance(d.dnsShare) ? d.domain : "",
    );
}

/** The mail client sending 30–60 MB at 03:00. */
function offHoursMail(rng: SimRandom): Emitter {
  const { host, process } = pickRunning(rng, MAIL);
  const d = usualWebDest(rng, process);
  return (r, timeMs) =>
    connection(
      host,
      process,
      { domain: d.domain, ip: r.pick(d.ips), port: d.port, protocol: d.protocol },
      sameDayAt(r, timeMs, 2.5, 3.5),
      r.logUniform(30e6, 60e6),
      r.logNormal(d.recv, d.sigma),
      r.chance(d.dnsShare) ? d.domain : "",
    );
}

/** The browser started by a word processor (a macro opening a page), otherwise ordinary browsing. */
function oddParent(rng: SimRandom): Emitter {
  const { host, process } = pickRunning(rng, BROWSERS);
  const parent = rng.pick(["winword.exe", "excel.exe", "powerpnt.exe"]);
  return (r, timeMs) => {
    const d = usualWebDest(r, process);
    return connection(
      host,
      process,
      { domain: d.domain, ip: r.pick(d.ips), port: d.port, protocol: d.protocol },
      sameDayAt(r, timeMs, 9, 17),
      r.logNormal(d.sent, d.sigma),
      r.logNormal(d.recv, d.sigma),
      r.chance(d.dnsShare) ? d.domain : "",
      parent,
    );
  };
}

/** Lookalikes of a familiar domain: brand hyphenation, a brand on another TLD, typo-squats. */
export function lookalikesOf(domain: string): string[] {
  const labels = domain.split(".");
  const brand = labels[labels.length - 2] ?? domain;
  const sub = labels.length > 2 ? labels[0] : "update";
  return [
    `${sub}-${brand}.com`,
    `${brand}-cdn.net`,
    `${brand}-${sub}.net`,
    `${brand.replace("m", "rn")}.com`,
    `${brand.replace("o", "0")}.com`,
    `${brand.slice(0, 2)}${brand[3] ?? ""}${brand[2] ?? ""}${brand.slice(4)}.com`,
  ].filter((d) => d !== domain);
}

/** A system service talking to lookalikes of its update domains, with ordinary sizes. */
function lookalikeDomain(rng: SimRandom): Emitter {
  const { host, process } = pickRunning(rng, UPDATERS);
  const d = usualWebDest(rng, process);
  const fake = rng.pick(lookalikesOf(d.domain));
  const ips = publicIps(fake);
  return (r, timeMs) =>
    connection(
      host,
      process,
      { domain: fake, ip: r.pick(ips), port: 443, protocol: "TCP" },
      timeMs,
      r.logNormal(d.sent, d.sigma),
      r.logNormal(d.recv, d.sigma),
      r.chance(d.dnsShare) ? fake : "",
    );
}

/** Starts an episode of a living-off-the-land scenario; see `startEpisode` for the shape. */
export const LOTL_STARTERS: Readonly<Record<LotlScenarioName, (rng: SimRandom) => Emitter>> = {
  browser_upload: browserUpload,
  off_hours_mail: offHoursMail,
  odd_parent: oddParent,
  lookalike_domain: lookalikeDomain,
};
