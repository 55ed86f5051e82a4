import type { FlowRecord } from "./flow-record.js";

/**
 * One connection seen from its initiator: what {@link FlowPairer} makes of
 * two unidirectional flows, one RFC 5103 biflow, or a flow whose reverse never came.
 */
export interface Connection {
  /** First packet in either direction, ms since the epoch. */
  startMs: number;
  protocol: number;
  initiatorIp: string;
  responderIp: string;
  /** The responder's port: the service (0 for ICMP). */
  responderPort: number;
  /** Bytes from the initiator. */
  bytesSent: bigint;
  /** Bytes to the initiator. */
  bytesRecv: bigint;
  /** `paired`: two flows joined; `biflow`: one RFC 5103 record; `alone`: the reverse never came. */
  kind: "paired" | "biflow" | "alone";
}

/** How long a flow waits for its reverse by default, ms. */
export const DEFAULT_PAIR_WAIT_MS = 15_000;

/** Limits of a {@link FlowPairer}. */
export interface FlowPairerOptions {
  /** How long a flow waits for its reverse before it goes out alone, ms. Default 15,000. */
  waitMs?: number;
  /** Flows waiting at once; past it the oldest goes out alone. Default 65,536. */
  maxPending?: number;
}

/** Counters of a {@link FlowPairer}; all only grow. */
export interface FlowPairerStats {
  paired: number;
  biflows: number;
  /** Flows that went out without their reverse: waited too long, or pushed out by a full table. */
  alone: number;
  /** Of those, pushed out because the table was full. */
  evicted: number;
}

interface Waiting {
  record: FlowRecord;
  sinceMs: number;
}

/** Ports below this are services (IANA system ports, RFC 6335 §6). */
const SYSTEM_PORTS = 1024;
/** Linux's ephemeral ports start here (IANA's at 49152); a client port is usually at or above it. */
const EPHEMERAL_FROM = 32768;
/** ICMP and ICMPv6 request and reply types (RFC 792, RFC 4443): echo, timestamp, information. */
const ICMP_REQUESTS = new Set([8, 13, 15, 17, 128]);
const ICMP_REPLIES = new Set([0, 14, 16, 18, 129]);

/**
 * Joins the two directions of a connection that unidirectional exporters
 * (NetFlow v5, v9, IPFIX without RFC 5103) report as two flows, and emits
 * one {@link Connection} per connection, from the initiator's side. A flow
 * waits at most `waitMs` for its reverse, in a table of at most `maxPending`;
 * flows of the same direction that come before the reverse are added up.
 */
export class FlowPairer {
  readonly stats: FlowPairerStats = { paired: 0, biflows: 0, alone: 0, evicted: 0 };
  readonly #waiting = new Map<string, Waiting>();
  readonly #emit: (c: Connection) => void;
  readonly #waitMs: number;
  readonly #maxPending: number;

  constructor(emit: (c: Connection) => void, options: FlowPairerOptions = {}) {
    this.#emit = emit;
    this.#waitMs = options.waitMs ?? DEFAULT_PAIR_WAIT_MS;
    this.#maxPending = options.maxPending ?? 65_536;
  }

  /** Flows waiting for their reverse now. */
  get pending(): number {
    return this.#waiting.size;
  }

  /** Takes one flow record; emits at once when it completes a connection or is a biflow. */
  add(record: FlowRecord, nowMs: number): void {
    if (record.reverseBytes !== undefined) {
      this.stats.biflows++;
      this.#emit(single(record, record.reverseBytes, "biflow"));
      return;
    }
    const key = keyOf(record);
    const waiting = this.#waiting.get(key);
    if (waiting === undefined) {
      this.#waiting.set(key, { record: { ...record }, sinceMs: nowMs });
      if (this.#waiting.size > this.#maxPending) {
        const [oldKey, old] = this.#waiting.entries().next().value as [string, Waiting];
        this.#waiting.delete(oldKey);
        this.stats.evicted++;
        this.#alone(old.record);
      }
      return;
    }
    const w = waiting.record;
    if (w.sourceIp === record.sourceIp && w.sourcePort === record.sourcePort) {
      // The same direction again (an exporter's active timeout): add it up.
      w.bytes += record.bytes;
      w.startMs = Math.min(w.startMs, record.startMs);
      w.endMs = Math.max(w.endMs, record.endMs);
      return;
    }
    this.#waiting.delete(key);
    this.stats.paired++;
    this.#emit(joined(w, record));
  }

  /**
   * Sends out alone the flows that waited `waitMs` or more (every flow when `all`).
   * @returns how many went out.
   */
  flush(nowMs: number, all = false): number {
    let n = 0;
    for (const [key, w] of this.#waiting) {
      if (!all && nowMs - w.sinceMs < this.#waitMs) break; // insertion order is age order
      this.#waiting.delete(key);
      this.#alone(w.record);
      n++;
    }
    return n;
  }

  #alone(record: FlowRecord): void {
    this.stats.alone++;
    this.#emit(single(record, 0n, "alone"));
  }
}

/** Both directions of a connection share a key: exporter, protocol and the two endpoints in order. */
function keyOf(r: FlowRecord): string {
  const a = `${r.sourceIp}|${r.sourcePort}`;
  const b = `${r.destIp}|${r.destPort}`;
  return a < b ? `${r.exporter}|${r.protocol}|${a}|${b}` : `${r.exporter}|${r.protocol}|${b}|${a}`;
}

/**
 * Whether a flow's source started the connection, when its ports or ICMP type say so
 * clearly: a system port (<1024) or a non-ephemeral port facing an ephemeral one is the
 * service; an ICMP request comes from the initiator, a reply from the responder.
 * @returns undefined when they do not say.
 */
export function sourceInitiates(r: FlowRecord): boolean | undefined {
  if (r.icmpTypeCode !== undefined) {
    const type = r.icmpTypeCode >> 8;
    if (ICMP_REQUESTS.has(type)) return true;
    if (ICMP_REPLIES.has(type)) return false;
    return undefined;
  }
  const sp = r.sourcePort;
  const dp = r.destPort;
  if (dp < SYSTEM_PORTS && sp >= SYSTEM_PORTS) return true;
  if (sp < SYSTEM_PORTS && dp >= SYSTEM_PORTS) return false;
  if (dp < EPHEMERAL_FROM && sp >= EPHEMERAL_FROM) return true;
  if (sp < EPHEMERAL_FROM && dp >= EPHEMERAL_FROM) return false;
  return undefined;
}

/**
 * Two opposite flows as one connection. The initiator is the side the
 * ports or ICMP types name; failing that the flow that started first;
 * failing that the side with the higher port (clients take high ports);
 * failing that the flow that arrived first.
 */
function joined(first: FlowRecord, second: FlowRecord): Connection {
  let firstInitiates = sourceInitiates(first) ?? invert(sourceInitiates(second));
  if (firstInitiates === undefined && first.startMs !== second.startMs)
    firstInitiates = first.startMs < second.startMs;
  if (firstInitiates === undefined && first.sourcePort !== first.destPort)
    firstInitiates = first.sourcePort > first.destPort;
  const [init, resp] = firstInitiates === false ? [second, first] : [first, second];
  return {
    startMs: Math.min(first.startMs, second.startMs),
    protocol: init.protocol,
    initiatorIp: init.sourceIp,
    responderIp: init.destIp,
    responderPort: init.destPort,
    bytesSent: init.bytes,
    bytesRecv: resp.bytes,
    kind: "paired",
  };
}

/**
 * One record as a connection: a biflow (`reverse` its reverse bytes) or a
 * flow alone (`reverse` 0). Turned around when its ports say the source is
 * the responder (softflowd -b puts the lower address first, not the initiator).
 */
function single(r: FlowRecord, reverse: bigint, kind: Connection["kind"]): Connection {
  const turn = sourceInitiates(r) === false;
  return {
    startMs: r.startMs,
    protocol: r.protocol,
    initiatorIp: turn ? r.destIp : r.sourceIp,
    responderIp: turn ? r.sourceIp : r.destIp,
    responderPort: turn ? r.sourcePort : r.destPort,
    bytesSent: turn ? reverse : r.bytes,
    bytesRecv: turn ? r.bytes : reverse,
    kind,
  };
}

function invert(b: boolean | undefined): boolean | undefined {
  return b === undefined ? undefined : !b;
}
