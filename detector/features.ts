import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { type TailStats, tailValues } from "./context-tails.js";
import { TELEMETRY_FEATURES } from "./feature-names.js";
import { ALL_BUCKETS, createCoverageTracker, unseenHourRarity } from "./hour-profile.js";
import { createLookalikeChecker } from "./lookalike.js";

/** The event's fields by their proto (and CSV) names, in field-number order. */
const TELEMETRY_COLUMNS = NetworkEventSchema.fields.map((f) => f.name);
type TelemetryColumn = string;

export { TELEMETRY_FEATURES };

const FIRST_RARITY = TELEMETRY_FEATURES.indexOf("process_rarity");
const LAST_RARITY = TELEMETRY_FEATURES.indexOf("dns_zone_rarity");

/** The count tables behind the rarity features. */
export const RARITY_TABLES = [
  "process",
  "process_path",
  "process_hash",
  "parent_process",
  "user_process",
  "process_port",
  "process_dest",
  "dest",
  "port",
  "protocol",
  "internal_port",
  "process_hour",
  "dns_zone",
] as const;

export type RarityTable = (typeof RARITY_TABLES)[number];

/** Volume baseline of one context: [n, mean, sd] of log1p(sent), then of log1p(recv). */
export type Baseline = [
  n: number,
  sentMean: number,
  sentSd: number,
  recvMean: number,
  recvSd: number,
];

/**
 * Everything the featurizer learned from training data; stored in the model
 * file. Tables hold [key, count] pairs sorted by key, so the same data gives
 * the same file.
 */
export interface TelemetryFeatureSpec {
  kind: "telemetry";
  features: string[];
  /** Number of training rows the counts come from. */
  rows: number;
  tables: Record<RarityTable, [string, number][]>;
  /** Baselines per "process\u0000port" and per "process", plus the global one under "". */
  baselines: [string, Baseline][];
  /**
   * Telemetry fields the training data carried (set in at least one row),
   * in schema order. Other fields are blanked before scoring, so a model
   * trained on flow records (no process fields) or Sysmon (no byte counts)
   * neither uses nor is surprised by them. Absent in older model files:
   * every field.
   */
  fields?: string[];
  /**
   * Training maximum and scale of each context-tail measure
   * (`context-tails.ts`). Absent in models trained before them: the forest's
   * score alone.
   */
  tails?: TailStats;
  /**
   * Processes (of at least 3 timestamped training rows) whose history,
   * first to last sighting, passes through fewer hour buckets of the day
   * than the training window does, with a mask of those it passes through
   * (bit b for hours 3b to 3b + 2), sorted by process (`hour-profile.ts`):
   * an unseen bucket outside the mask is no evidence. Absent when there are
   * none, and in older model files: every unseen bucket is evidence.
   */
  hourCoverage?: [string, number][];
}

/** The fields of an event `fitTelemetryFeatures` checks for, with how to blank each. */
const FIELD_PRESENT: Record<string, (e: NetworkEvent) => boolean> = {
  timestamp: (e) => e.timestamp !== undefined,
  process_path: (e) => e.processPath !== "",
  process_hash: (e) => e.processHash !== "",
  source_ip: (e) => e.sourceIp !== "",
  dest_ip: (e) => e.destIp !== "",
  dest_domain: (e) => e.destDomain !== "",
  dest_port: (e) => e.destPort !== 0,
  bytes_sent: (e) => e.bytesSent !== 0n,
  bytes_recv: (e) => e.bytesRecv !== 0n,
  protocol: (e) => e.protocol !== "",
  dns_query: (e) => e.dnsQuery !== "",
  parent_process: (e) => e.parentProcess !== "",
  user_context: (e) => e.userContext !== "",
};

/**
 * The telemetry fields set in at least one of `events`, in schema order.
 */
export function fieldsPresent(events: readonly NetworkEvent[]): TelemetryColumn[] {
  return TELEMETRY_COLUMNS.filter((f) => {
    const present = FIELD_PRESENT[f];
    return present === undefined || events.some(present);
  });
}

/** @returns a copy of `e` with every field not in `keep` at its empty value. */
function blankFields(e: NetworkEvent, drop: readonly TelemetryColumn[]): NetworkEvent {
  const copy = { ...e };
  for (const f of drop) {
    switch (f) {
      case "timestamp":
        copy.timestamp = undefined;
        break;
      case "dest_port":
        copy.destPort = 0;
        break;
      case "bytes_sent":
        copy.bytesSent = 0n;
        break;
      case "bytes_recv":
        copy.bytesRecv = 0n;
        break;
      default:
        (copy as unknown as Record<string, string>)[camel(f)] = "";
    }
  }
  return copy;
}

function camel(column: string): string {
  return column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Largest number of keys kept per table; rarer keys count as unseen. */
export const MAX_TABLE_KEYS = 50_000;
/** A context needs this many training rows before its own baseline is used. */
const MIN_BASELINE_ROWS = 10;
/** Floor on a baseline's spread, in log-bytes, so tiny spreads don't explode z-scores. */
const MIN_SD = 0.25;
/** Bound on |z| so one absurd value cannot dominate a split range. */
const MAX_Z = 30;

const SEP = "\u0000";

/** The context keys one event maps to; shared by fitting and featurizing. */
interface EventKeys {
  process: string;
  path: string;
  dest: string;
  port: string;
  internal: boolean;
  hour: number;
}

function keysOf(event: NetworkEvent): EventKeys {
  const path = event.processPath.toLowerCase();
  const slash = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  const process = slash >= 0 ? path.slice(slash + 1) : path;
  const domain = event.destDomain.toLowerCase();
  const ts = event.timestamp;
  return {
    process,
    path,
    dest: domain !== "" ? domain : ipPrefix(event.destIp),
    port: String(event.destPort),
    internal: isInternalIp(event.destIp),
    hour: ts ? Math.floor(Number(ts.seconds % 86_400n) / 3600) : -1,
  };
}

function tableKey(table: RarityTable, e: NetworkEvent, k: EventKeys): string {
  switch (table) {
    case "process":
      return k.process;
    case "process_path":
      return k.path;
    case "process_hash":
      return k.path + SEP + e.processHash.toLowerCase();
    case "parent_process":
      return e.parentProcess.toLowerCase() + SEP + k.process;
    case "user_process":
      return e.userContext.toLowerCase() + SEP + k.process;
    case "process_port":
      return k.process + SEP + k.port;
    case "process_dest":
      return k.process + SEP + k.dest;
    case "dest":
      return k.dest;
    case "port":
      return k.port;
    case "protocol":
      return e.protocol.toUpperCase();
    case "internal_port":
      return (k.internal ? "internal" : "external") + SEP + k.port;
    case "process_hour":
      // Three-hour buckets: coarse enough to be seen, fine enough for night vs day.
      return k.hour < 0 ? "" : k.process + SEP + HOUR_BUCKETS[k.hour];
    case "dns_zone":
      return dnsZone(e.dnsQuery);
  }
}

/**
 * Learns count tables and volume baselines from training events.
 *
 * @param events training events (a sample is fine: counts are relative).
 */
export function fitTelemetryFeatures(events: readonly NetworkEvent[]): TelemetryFeatureSpec {
  const counts = Object.fromEntries(
    RARITY_TABLES.map((t) => [t, new Map<string, number>()]),
  ) as Record<RarityTable, Map<string, number>>;
  const moments = new Map<string, [number, number, number, number, number]>();
  const coverage = createCoverageTracker();
  const addMoment = (key: string, s: number, r: number) => {
    let m = moments.get(key);
    if (!m) {
      m = [0, 0, 0, 0, 0];
      moments.set(key, m);
    }
    m[0] += 1;
    m[1] += s;
    m[2] += s * s;
    m[3] += r;
    m[4] += r * r;
  };
  for (const e of events) {
    const k = keysOf(e);
    for (const t of RARITY_TABLES) {
      const key = tableKey(t, e, k);
      const map = counts[t];
      map.set(key, (map.get(key) ?? 0) + 1);
    }
    if (e.timestamp !== undefined) coverage.add(k.process, Number(e.timestamp.seconds));
    const s = Math.log1p(Number(e.bytesSent));
    const r = Math.log1p(Number(e.bytesRecv));
    addMoment("", s, r);
    // No process (flow and log sources): the global baseline is its baseline,
    // under the same key, so it is not counted twice.
    if (k.process !== "") addMoment(k.process, s, r);
    addMoment(k.process + SEP + k.port, s, r);
  }
  const tables = {} as Record<RarityTable, [string, number][]>;
  for (const t of RARITY_TABLES) {
    let entries = [...counts[t].entries()];
    if (entries.length > MAX_TABLE_KEYS) {
      entries.sort((a, b) => b[1] - a[1] || compare(a[0], b[0]));
      entries = entries.slice(0, MAX_TABLE_KEYS);
    }
    tables[t] = entries.sort((a, b) => compare(a[0], b[0]));
  }
  const baselines: [string, Baseline][] = [];
  for (const [key, [n, s, ss, r, rr]] of moments) {
    if (key !== "" && n < MIN_BASELINE_ROWS) continue;
    const sm = s / n;
    const rm = r / n;
    baselines.push([
      key,
      [
        n,
        sm,
        Math.sqrt(Math.max(0, ss / n - sm * sm)),
        rm,
        Math.sqrt(Math.max(0, rr / n - rm * rm)),
      ],
    ]);
  }
  baselines.sort((a, b) => compare(a[0], b[0]));
  const fields = fieldsPresent(events);
  const hourCoverage = coverage.partial();
  return {
    kind: "telemetry",
    features: [...TELEMETRY_FEATURES],
    rows: events.length,
    tables,
    baselines,
    // Only written when some field is missing, so full-schema models keep their bytes.
    ...(fields.length < TELEMETRY_COLUMNS.length ? { fields } : {}),
    // Likewise only when some process was seen for less than a day.
    ...(hourCoverage.length > 0 ? { hourCoverage } : {}),
  };
}

/** Turns events into feature rows with a fitted spec. */
export interface Featurizer {
  readonly nFeatures: number;
  readonly names: readonly string[];
  /** Writes the event's features into `out` starting at `offset`. Never throws. */
  featurize(event: NetworkEvent, out: Float64Array, offset?: number): void;
  /**
   * Writes the context-tail measures (`TAIL_FEATURES`) of an event whose
   * features `featurize` wrote into `row` at `offset`.
   */
  tails(event: NetworkEvent, row: Float64Array, offset: number, out: Float64Array): void;
}

/**
 * Builds the featurizer for a spec (from `fitTelemetryFeatures` or a model file).
 */
export function createTelemetryFeaturizer(spec: TelemetryFeatureSpec): Featurizer {
  const logN1 = Math.log(spec.rows + 1);
  // Two-level tables (first key part → second key part → rarity), so the hot
  // path looks keys up from cached strings without building new ones.
  const rarity = {} as Record<RarityTable, Map<string, Map<string, number>>>;
  for (const t of RARITY_TABLES) {
    const table = new Map<string, Map<string, number>>();
    for (const [key, count] of spec.tables[t]) {
      const cut = key.indexOf(SEP);
      const a = cut < 0 ? key : key.slice(0, cut);
      const b = cut < 0 ? "" : key.slice(cut + 1);
      let inner = table.get(a);
      if (!inner) {
        inner = new Map();
        table.set(a, inner);
      }
      inner.set(b, logN1 - Math.log(count + 1));
    }
    rarity[t] = table;
  }
  const look = (t: RarityTable, a: string, b: string): number => rarity[t].get(a)?.get(b) ?? logN1;
  // A missing field (empty hash, parent or user, no timestamp) is not
  // evidence: it takes the rarity of the context's most common value, e.g.
  // the path's usual hash. Range-aware trees isolate any value outside the
  // training range, so a stand-in such as "the process's rarity" would
  // itself look anomalous. A present but different value stays a signal.
  const typicalByFirst = (t: RarityTable): Map<string, number> => {
    const out = new Map<string, number>();
    for (const [a, inner] of rarity[t]) {
      let min = logN1;
      for (const r of inner.values()) min = Math.min(min, r);
      out.set(a, min);
    }
    return out;
  };
  const typicalBySecond = (t: RarityTable): Map<string, number> => {
    const out = new Map<string, number>();
    for (const inner of rarity[t].values()) {
      for (const [b, r] of inner) out.set(b, Math.min(r, out.get(b) ?? logN1));
    }
    return out;
  };
  const usualHash = typicalByFirst("process_hash");
  const usualHour = typicalByFirst("process_hour");
  const usualParent = typicalBySecond("parent_process");
  const usualUser = typicalBySecond("user_process");
  const baselines = new Map(spec.baselines);
  const coverage = new Map(spec.hourCoverage);
  const global = baselines.get("") ?? [1, 0, 1, 0, 1];
  // "process\u0000port" baselines by process, then port, so the hot path
  // builds no key: a port holds no separator, so a key's last one splits it
  // into exactly the (process, port) whose joined key it is.
  const portBaselines = new Map<string, Map<string, Baseline>>();
  for (const [key, baseline] of baselines) {
    const cut = key.lastIndexOf(SEP);
    if (cut < 0) continue;
    const a = key.slice(0, cut);
    let inner = portBaselines.get(a);
    if (!inner) {
      inner = new Map();
      portBaselines.set(a, inner);
    }
    inner.set(key.slice(cut + 1), baseline);
  }
  const nFeatures = TELEMETRY_FEATURES.length;
  const innerOf = (t: RarityTable, a: string): ReadonlyMap<string, number> =>
    rarity[t].get(a) ?? NO_KEYS;
  // Everything a field's value decides is looked up once per distinct value
  // and cached with it (bounded, see createCache): an event then costs one
  // lookup per field plus one per (context, value) pair.
  const processInfo = createCache((rawPath): ProcessInfo => {
    const path = rawPath.toLowerCase();
    const slash = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
    const process = slash >= 0 ? path.slice(slash + 1) : path;
    return {
      path,
      process,
      processRarity: look("process", process, ""),
      pathRarity: look("process_path", path, ""),
      hashes: innerOf("process_hash", path),
      usualHash: usualHash.get(path) ?? logN1,
      usualParent: usualParent.get(process) ?? logN1,
      usualUser: usualUser.get(process) ?? logN1,
      usualHour: usualHour.get(process) ?? logN1,
      hourMask: coverage.get(process) ?? ALL_BUCKETS,
      ports: innerOf("process_port", process),
      dests: innerOf("process_dest", process),
      hours: innerOf("process_hour", process),
      portBaselines: portBaselines.get(process),
      baseline: baselines.get(process) ?? global,
    };
  });
  const lower = createCache((v) => v.toLowerCase());
  const parents = createCache((parent) => innerOf("parent_process", parent.toLowerCase()));
  const users = createCache((user) => innerOf("user_process", user.toLowerCase()));
  const protocols = createCache((p) => look("protocol", p.toUpperCase(), ""));
  const domains = createCache((domain): DestInfo => {
    const dest = domain.toLowerCase();
    return { dest, rarity: look("dest", dest, "") };
  });
  const ips = createCache((ip): IpInfo => {
    const dest = ipPrefix(ip);
    const internal = isInternalIp(ip);
    return { dest, rarity: look("dest", dest, ""), internal };
  });
  const queries = createCache((query): QueryInfo => {
    const shape = { length: 0, labels: 0, maxLabel: 0, entropy: 0 };
    dnsFeaturesInto(query, shape);
    return { ...shape, zoneRarity: look("dns_zone", dnsZone(query), "") };
  });
  const portInfo: PortInfo[] = [];
  const portOf = (n: number): PortInfo => {
    let info = portInfo[n];
    if (info === undefined) {
      const port = String(n);
      info = {
        port,
        rarity: look("port", port, ""),
        internalRarity: look("internal_port", "internal", port),
        externalRarity: look("internal_port", "external", port),
      };
      portInfo[n] = info;
    }
    return info;
  };

  const featurize = (e: NetworkEvent, out: Float64Array, offset = 0): void => {
    const p = processInfo(e.processPath);
    const ip = ips(e.destIp);
    const domain = e.destDomain === "" ? undefined : domains(e.destDomain);
    const dest = domain === undefined ? ip : domain;
    const portInfo = portOf(e.destPort);
    const port = portInfo.port;
    const hour = hourOf(e);
    const sent = Math.log1p(Number(e.bytesSent));
    const recv = Math.log1p(Number(e.bytesRecv));
    const base = p.portBaselines?.get(port) ?? p.baseline;
    const dns = queries(e.dnsQuery);
    let o = offset;
    out[o++] = sent;
    out[o++] = recv;
    out[o++] = sent - recv;
    out[o++] = zScore(sent, base[1], base[2]);
    out[o++] = zScore(recv, base[3], base[4]);
    out[o++] = p.processRarity;
    out[o++] = p.pathRarity;
    out[o++] = e.processHash === "" ? p.usualHash : (p.hashes.get(lower(e.processHash)) ?? logN1);
    out[o++] =
      e.parentProcess === "" ? p.usualParent : (parents(e.parentProcess).get(p.process) ?? logN1);
    out[o++] = e.userContext === "" ? p.usualUser : (users(e.userContext).get(p.process) ?? logN1);
    out[o++] = p.ports.get(port) ?? logN1;
    out[o++] = p.dests.get(dest.dest) ?? logN1;
    out[o++] = dest.rarity;
    out[o++] = portInfo.rarity;
    out[o++] = protocols(e.protocol);
    out[o++] = ip.internal ? portInfo.internalRarity : portInfo.externalRarity;
    out[o++] =
      hour < 0
        ? p.usualHour
        : (p.hours.get(HOUR_BUCKETS[hour] as string) ??
          unseenHourRarity(p.hourMask, Math.floor(hour / 3), logN1, p.usualHour));
    out[o++] = dns.zoneRarity;
    out[o++] = e.destIp === "" ? 0.5 : ip.internal ? 1 : 0;
    out[o++] = e.destDomain === "" ? 1 : 0;
    out[o++] = dns.length;
    out[o++] = dns.labels;
    out[o++] = dns.entropy;
    out[o++] = dns.maxLabel;
    // How novel the event's context is overall: its rarest keys. An attack
    // tends to be rare in several contexts at once, a rare-but-legitimate
    // workflow in one or two.
    let first = 0;
    let second = 0;
    let third = 0;
    for (let f = offset + FIRST_RARITY; f <= offset + LAST_RARITY; f++) {
      const v = out[f] as number;
      if (v > first) {
        third = second;
        second = first;
        first = v;
      } else if (v > second) {
        third = second;
        second = v;
      } else if (v > third) {
        third = v;
      }
    }
    out[o++] = first;
    out[o++] = (first + second + third) / 3;
  };
  const lookalike = createLookalikeChecker([
    ...spec.tables.dest.map(([k]) => k),
    ...spec.tables.dns_zone.map(([k]) => k),
  ]);
  const tails = (e: NetworkEvent, row: Float64Array, offset: number, out: Float64Array) => {
    const name = e.destDomain !== "" ? e.destDomain : e.dnsQuery;
    tailValues(row, offset, name === "" ? 0 : lookalike.score(name), out);
  };
  const drop = TELEMETRY_COLUMNS.filter(
    (f) => spec.fields !== undefined && !spec.fields.includes(f),
  );
  if (drop.length === 0) return { nFeatures, names: TELEMETRY_FEATURES, featurize, tails };
  return {
    nFeatures,
    names: TELEMETRY_FEATURES,
    featurize: (e, out, offset) => featurize(blankFields(e, drop), out, offset),
    tails: (e, row, offset, out) => tails(blankFields(e, drop), row, offset, out),
  };
}

/** Three-hour buckets: coarse enough to be seen, fine enough for night vs day. */
const HOUR_BUCKETS = Array.from({ length: 24 }, (_, h) => String(Math.floor(h / 3)));

/** An empty inner table: every key in it is unseen. */
const NO_KEYS: ReadonlyMap<string, number> = new Map();

/** What a process path decides: its keys, their rarities and its context tables. */
interface ProcessInfo {
  path: string;
  process: string;
  processRarity: number;
  pathRarity: number;
  /** Rarity by lowercased hash, for this path. */
  hashes: ReadonlyMap<string, number>;
  usualHash: number;
  usualParent: number;
  usualUser: number;
  usualHour: number;
  /** Hour buckets the process's training history passes through (`hour-profile.ts`); all for most. */
  hourMask: number;
  /** Rarity by port, destination and hour bucket, for this process. */
  ports: ReadonlyMap<string, number>;
  dests: ReadonlyMap<string, number>;
  hours: ReadonlyMap<string, number>;
  portBaselines: ReadonlyMap<string, Baseline> | undefined;
  baseline: Baseline;
}

/** A destination key and its rarity. */
interface DestInfo {
  dest: string;
  rarity: number;
}

/** What a destination IP decides: its /24 (or /48) key, rarity and scope. */
interface IpInfo extends DestInfo {
  internal: boolean;
}

/** What a destination port decides. */
interface PortInfo {
  port: string;
  rarity: number;
  internalRarity: number;
  externalRarity: number;
}

/** A DNS query's shape and the rarity of its zone. */
interface QueryInfo extends DnsShape {
  zoneRarity: number;
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** Hour of day (UTC) of the event's timestamp; -1 without one. */
function hourOf(e: NetworkEvent): number {
  const ts = e.timestamp;
  if (!ts) return -1;
  const s = ts.seconds;
  // Exact as a double below 2^53, where % gives what the bigint % gives.
  const inDay = s >= -MAX_EXACT && s <= MAX_EXACT ? Number(s) % 86_400 : Number(s % 86_400n);
  return Math.floor(inDay / 3600);
}

/** Entries a normalisation cache holds before it starts over. */
const CACHE_LIMIT = 20_000;

/**
 * Memoises a string → string function: telemetry repeats the same few
 * thousand paths, domains and users, so the hot path mostly reuses strings
 * instead of building them. Bounded: a flood of unique values only costs a
 * reset now and then.
 */
function createCache<V>(fn: (s: string) => V): (s: string) => V {
  const cache = new Map<string, V>();
  return (s) => {
    let v = cache.get(s);
    if (v === undefined) {
      if (cache.size >= CACHE_LIMIT) cache.clear();
      v = fn(s);
      cache.set(s, v);
    }
    return v;
  };
}

function zScore(v: number, mean: number, sd: number): number {
  const z = (v - mean) / Math.max(sd, MIN_SD);
  return Math.min(MAX_Z, Math.max(-MAX_Z, z));
}

// Scratch space for the entropy count: one slot per UTF-16 code unit.
const counts = new Int32Array(65536);
const seen = new Int32Array(65536);

/**
 * Shape of a DNS query: total length, label count, longest label, and the
 * Shannon entropy (bits per character) of the part left of the registered
 * domain — long, many-labelled, high-entropy names are how DNS tunnels look.
 */
export function dnsFeatures(query: string): DnsShape {
  const shape = { length: 0, labels: 0, maxLabel: 0, entropy: 0 };
  dnsFeaturesInto(query, shape);
  return shape;
}

/** Shape of a DNS query, see `dnsFeatures`. */
export interface DnsShape {
  length: number;
  labels: number;
  maxLabel: number;
  entropy: number;
}

function dnsFeaturesInto(query: string, shape: DnsShape): void {
  // A trailing dot (fully qualified name) is not a label.
  const n =
    query.length > 0 && query.charCodeAt(query.length - 1) === 46 ? query.length - 1 : query.length;
  let labels = n === 0 ? 0 : 1;
  let maxLabel = 0;
  let run = 0;
  for (let i = 0; i < n; i++) {
    if (query.charCodeAt(i) === 46) {
      labels++;
      run = 0;
    } else if (++run > maxLabel) {
      maxLabel = run;
    }
  }
  // Subdomain: everything before the last two labels.
  let cut = n;
  for (let dots = 0; cut > 0 && dots < 2; ) if (query.charCodeAt(--cut) === 46) dots++;
  let entropy = 0;
  if (labels > 2 && cut > 0) {
    let distinct = 0;
    for (let i = 0; i < cut; i++) {
      const c = query.charCodeAt(i);
      if (counts[c] === 0) seen[distinct++] = c;
      counts[c] = (counts[c] as number) + 1;
    }
    for (let j = 0; j < distinct; j++) {
      const c = seen[j] as number;
      const p = (counts[c] as number) / cut;
      entropy -= p * Math.log2(p);
      counts[c] = 0;
    }
  }
  shape.length = n;
  shape.labels = labels;
  shape.maxLabel = maxLabel;
  shape.entropy = entropy;
}

/**
 * The zone a DNS query falls in: its last two labels, lowercased
 * (`a1b2.tunnel.example.com` → `example.com`); empty for no query. Queries
 * into a zone nobody asked for in training are how tunnels and fresh C2
 * domains look, whatever the subdomain.
 */
export function dnsZone(query: string): string {
  let end = query.length;
  if (end > 0 && query.charCodeAt(end - 1) === 46) end--;
  let cut = end;
  for (let dots = 0; cut > 0; ) {
    if (query.charCodeAt(cut - 1) === 46 && ++dots === 2) break;
    cut--;
  }
  return query.slice(cut, end).toLowerCase();
}

/** True for RFC 1918, loopback, link-local and IPv6 unique-local/link-local addresses. */
export function isInternalIp(ip: string): boolean {
  if (ip.includes(":")) {
    const lower = ip.toLowerCase();
    return (
      lower === "::1" ||
      lower.startsWith("fc") ||
      lower.startsWith("fd") ||
      lower.startsWith("fe80")
    );
  }
  const dot = ip.indexOf(".");
  if (dot < 0) return false;
  const a = Number(ip.slice(0, dot));
  if (a === 10 || a === 127) return true;
  const b = Number(ip.slice(dot + 1, ip.indexOf(".", dot + 1)));
  return (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) || (a === 169 && b === 254);
}

/** The /24 of an IPv4 address or the /48 of an IPv6 one, as a destination key. */
function ipPrefix(ip: string): string {
  if (ip === "") return "";
  if (ip.includes(":")) return `ip:${ip.toLowerCase().split(":").slice(0, 3).join(":")}`;
  return `ip:${ip.slice(0, ip.lastIndexOf("."))}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
