/**
 * The host collector: the connections of the machine (or network namespace)
 * the agent runs on, with the process that owns each one.
 *
 * How it sees them (eBPF is not available, and Node has no netlink), through
 * a socket watch (`socket-watch.ts`): the `netanomaly-sockdiag` helper
 * (`sockdiag/sockdiag.c`, built with the host's `cc` on first use), or
 * iproute2's `ss` where it cannot be built (`ss-watch.ts`, several times the CPU):
 * - every `intervalS` seconds (default 1) a poll lists TCP and UDP sockets
 *   (all states but TIME-WAIT), IPv4 and IPv6, with their inode, owning
 *   process and tcp_info byte counters;
 * - each socket the kernel destroys is reported as it goes, with its final
 *   tcp_info counters (but inode 0 and no process);
 * - an optional `tcpdump … udp` capture (`dns-watch.ts`) reads DNS answers
 *   for `dest_domain`, DNS questions for `dns_query`, and meters UDP bytes.
 *
 * Event semantics:
 * - A connection is a connected TCP socket (any state but LISTEN and
 *   TIME-WAIT) or a connected UDP socket, keyed by (protocol, local,
 *   remote). Listening and unconnected sockets are not events.
 * - One event when it closes (its destroy event, or it vanishes from a
 *   poll), carrying the bytes not yet reported. A connection live longer than
 *   `reportS` (default 60 s) also gets an event every `reportS` with the
 *   bytes since its last event (none when no byte moved).
 * - Every event is written from the connection's initiator to its responder,
 *   like a flow record: `source_ip` the initiator, `dest_ip`/`dest_port` the
 *   responder, `bytes_sent` what the initiator sent, `bytes_recv` what it
 *   received. Outbound (this host opened it) means the local side initiated;
 *   inbound means the local port is a listening TCP port. The process fields
 *   are always the local process, so a loopback connection yields two events
 *   (the client's and the server's) with the same addresses.
 * - TCP bytes are the kernel's counters: sent = min(bytes_acked, bytes_sent)
 *   (payload the peer acknowledged, retransmissions not counted twice),
 *   received = bytes_received, which may be one over when a FIN was counted.
 *   UDP sockets have no kernel counters: UDP bytes come from the capture,
 *   and are 0 without it.
 * - `timestamp` is when the event was made (the close, or the interval).
 * - A connection already open when the collector starts is reported with
 *   the kernel's counters since it opened. Connections still open when the
 *   collector stops are not reported (their bytes would be cut short).
 * - `dest_domain` is the question name of the last DNS answer seen on the
 *   wire that returned the responder's address; `dns_query` is set on DNS
 *   connections (UDP to port 53) to the names they asked. Both stay empty
 *   where no answer or question was seen.
 * - Connections opened and closed between two polls are seen only by their
 *   destroy event: inbound ones take the process of the listening socket on
 *   their port (the first process `ss` lists for it: a pre-forking server's
 *   master or any worker); outbound ones keep the process fields empty, are counted in
 *   `stats().table.shortUnattributed`, and said once through `onNotice`.
 * - `user_context` falls back to the owner uid of the socket, as a poll saw
 *   it live, when the process cannot be read (destroy events report uid 0
 *   for every socket, so a connection seen only there gets no user).
 *   A shorter `intervalS` catches more of them, at more CPU.
 *
 * - `netns` runs ss and tcpdump in a network namespace (`ip netns exec`);
 *   `/proc` is shared, so attribution works the same. Running the whole agent
 *   under `ip netns exec` needs no option.
 *
 * Privileges (verified on Linux 6.18 as user nobody with `setpriv`): sockets,
 * tcp_info and destroy events need none (sock_diag shows every socket of the
 * namespace); the process of another user's socket needs CAP_SYS_PTRACE and
 * CAP_DAC_READ_SEARCH (`ss -p` lists `/proc/PID/fd` and reads its links;
 * `/proc/PID/exe` needs CAP_SYS_PTRACE); the capture needs CAP_NET_RAW.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { NetworkEvent } from "../../gen/netanomaly/v1/telemetry_pb.js";
import type { TelemetryColumn } from "../../telemetry/schema.js";
import { logEvent } from "../log-event.js";
import type { Source, SourceContext, SourceEvent } from "../source.js";
import {
  type Attribution,
  type Connection,
  type ConnectionTableStats,
  createConnectionTable,
} from "./connection-table.js";
import { type DnsWatch, startDnsWatch } from "./dns-watch.js";
import { createExeHasher } from "./exe-hash.js";
import { createProcessReader } from "./proc-info.js";
import { buildSockdiag } from "./sockdiag/sockdiag-build.js";
import { startSockdiagWatch } from "./sockdiag/sockdiag-watch.js";
import type { SocketWatch } from "./socket-watch.js";
import type { SsRecord } from "./ss-parse.js";
import { startSsWatch } from "./ss-watch.js";

/** Options of {@link createHostCollector}; defaults merged in one place below. */
export interface HostCollectorOptions {
  /** Poll interval, seconds; default 1. */
  intervalS?: number;
  /** A live connection's event interval, seconds; default 60. */
  reportS?: number;
  /** Run the DNS/UDP capture; default true. */
  capture?: boolean;
  /** Run the collector's children in this network namespace (`ip netns exec NAME`). */
  netns?: string;
  /** Live connections tracked at most; default 65536. */
  maxConnections?: number;
  /** Events waiting for the consumer at most; past it new events are dropped and counted. */
  maxQueued?: number;
  /**
   * How sockets are listed: `sockdiag` (a C helper built on first use with
   * the host's `cc`, see `sockdiag/`), `ss` (iproute2), or `auto` (the
   * default: sockdiag, else ss with a notice).
   */
  lister?: "auto" | "sockdiag" | "ss";
  /** Called after each poll is applied (tests and the lab wait on it). */
  onPoll?(poll: { count: number; sockets: number; timeMs: number }): void;
}

/** What the collector did so far. */
export interface HostCollectorStats {
  polls: number;
  events: number;
  dropped: number;
  destroyEvents: number;
  /** Which lister the collector runs (undefined before the first poll). */
  lister: SocketWatch["kind"] | undefined;
  badLines: number;
  /** False when the host (or namespace) has IPv6 off: only IPv4 is collected. */
  ipv6: boolean;
  procVanished: number;
  procDenied: number;
  table: ConnectionTableStats;
  dns: DnsWatch["stats"] | undefined;
}

/** A running (once iterated) host collector. */
export interface HostCollector {
  /** The events; iterating starts the children, ending or aborting stops them. */
  events: AsyncIterable<SourceEvent>;
  stats(): HostCollectorStats;
  /**
   * pids of the long-running children, for CPU accounting: the socket lister
   * (`poll`: the sockdiag helper, or the shell running `ss` polls), the `ss
   * -E` destroy watcher when ss is the lister (`destroy`), the capture.
   */
  childPids(): { poll?: number; destroy?: number; capture?: number };
  /** Resolves once the first poll is applied and the capture is listening (or failed). */
  readonly ready: Promise<void>;
}

/** The fields this source fills. */
export const HOST_FIELDS: readonly TelemetryColumn[] = [
  "timestamp",
  "process_path",
  "process_hash",
  "source_ip",
  "dest_ip",
  "dest_domain",
  "dest_port",
  "bytes_sent",
  "bytes_recv",
  "protocol",
  "dns_query",
  "parent_process",
  "user_context",
];

const EMPTY: Attribution = { path: "", hash: "", parent: "", user: "" };
const CAP_DAC_READ_SEARCH = 2n;
const CAP_NET_RAW = 13n;
const CAP_SYS_PTRACE = 19n;

/**
 * Creates the host collector. Nothing runs until `events` is iterated.
 * Throws (from the iterator) only when `ss` cannot run at all.
 */
export function createHostCollector(
  options: HostCollectorOptions,
  ctx: SourceContext,
): HostCollector {
  for (const [flag, value] of [
    ["--interval", options.intervalS],
    ["report interval", options.reportS],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new Error(`${flag} must be a positive number of seconds, got ${value}`);
    }
  }
  // Aborted by the caller, or when the consumer stops iterating.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const intervalMs = Math.max(0.05, options.intervalS ?? 1) * 1000;
  const reportMs = Math.max(1, options.reportS ?? 60) * 1000;
  const maxQueued = options.maxQueued ?? 100_000;
  const wrap = (cmd: string, args: string[]): [string, string[]] =>
    options.netns === undefined
      ? [cmd, args]
      : ["ip", ["netns", "exec", options.netns, cmd, ...args]];
  const said = new Set<string>();
  const noticeOnce = (kind: string, message: string) => {
    if (said.has(kind)) return;
    said.add(kind);
    ctx.onNotice(`host: ${message}`);
  };
  const counts = {
    polls: 0,
    events: 0,
    dropped: 0,
    badLines: 0,
    procVanished: 0,
    procDenied: 0,
  };
  const procs = createProcessReader();
  const hasher = createExeHasher();
  const attribute = async (pid: number): Promise<Attribution> => {
    const lookup = await procs.read(pid);
    if (!lookup.ok) {
      if (lookup.problem === "vanished") {
        counts.procVanished++;
        noticeOnce(
          "vanished",
          `${lookup.where} exited before it could be read; such connections carry no process fields (counted in procVanished)`,
        );
      } else {
        counts.procDenied++;
        noticeOnce(
          "denied",
          `${lookup.where}: ${lookup.message}; such connections carry no process fields`,
        );
      }
      return EMPTY;
    }
    const { info } = lookup;
    if (info.missing.length > 0) {
      noticeOnce("missing", `pid ${info.pid}: ${info.missing.join(", ")} (fields left empty)`);
    }
    return {
      path: info.path,
      hash: info.path === "" ? "" : await hasher.hashOf(pid, info.path),
      parent: info.parentName,
      user: info.user,
    };
  };
  // One /proc read per process and poll, however many sockets it holds.
  let perPoll = new Map<number, Promise<Attribution>>();
  // What each attribution resolved to, so emitDue need not await a settled one
  // (a listener's is shared by every short inbound connection on its port).
  const settled = new WeakMap<Promise<Attribution>, Attribution>();
  const table = createConnectionTable({
    reportMs,
    maxConnections: options.maxConnections,
    attribute: (pid) => {
      let hit = perPoll.get(pid);
      if (hit === undefined) {
        const started = attribute(pid);
        started.then(
          (who) => settled.set(started, who),
          () => {},
        );
        hit = started;
        perPoll.set(pid, hit);
      }
      return hit;
    },
  });
  let dns: DnsWatch | undefined;
  let ipv6 = true;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const queue: SourceEvent[] = [];
  let head = 0;
  let wake: (() => void) | undefined;
  const push = (event: NetworkEvent) => {
    if (queue.length - head >= maxQueued) {
      counts.dropped++;
      noticeOnce(
        "dropped",
        `the consumer is behind by ${maxQueued} events; newer ones are dropped (counted)`,
      );
      return;
    }
    counts.events++;
    queue.push({ event, label: undefined });
    wake?.();
  };

  async function emitDue(nowMs: number): Promise<void> {
    for (const { connection, reason } of table.takeDue(nowMs)) {
      if (connection.proto === "udp" && dns?.capturing) {
        const flow = dns.udpFlow(
          connection.local.ip,
          connection.local.port,
          connection.remote.ip,
          connection.remote.port,
        );
        if (flow !== undefined) {
          connection.sent = flow.sent;
          connection.recv = flow.recv;
        }
      }
      const sent = connection.sent - connection.reportedSent;
      const recv = connection.recv - connection.reportedRecv;
      table.markReported(connection, nowMs);
      if (reason === "interval" && sent === 0n && recv === 0n) continue;
      if (connection.attributedBy === "none" && connection.outbound) {
        noticeOnce(
          "short",
          `outbound connections opened and closed between two polls (every ${intervalMs / 1000} s) have no process fields (counted in table.shortUnattributed); inbound ones take their listener's process`,
        );
      }
      const pending = connection.attribution;
      let who = pending === undefined ? EMPTY : (settled.get(pending) ?? (await pending));
      // No process (not permitted, or gone before a poll): the socket's own uid still names the user.
      if (who.user === "" && connection.uid !== undefined) {
        who = { ...who, user: await procs.userName(connection.uid) };
      }
      push(toEvent(connection, who, sent, recv, nowMs, dns));
    }
  }

  let watch: SocketWatch | undefined;
  async function startWatch(): Promise<SocketWatch> {
    const hooks = {
      signal,
      netns: options.netns,
      onDestroy: (record: SsRecord, nowMs: number) => table.applyDestroy(record, nowMs),
      onBadLine: (where: string, message: string) => {
        counts.badLines++;
        ctx.onSkip({ where, message });
      },
      onNotice: noticeOnce,
    };
    const lister = options.lister ?? "auto";
    if (lister === "ss") return startSsWatch(hooks);
    const built = await buildSockdiag();
    if (built.ok) return startSockdiagWatch(built.path, hooks);
    if (lister === "sockdiag")
      throw new Error(`the sockdiag helper could not be built: ${built.why}`);
    noticeOnce(
      "lister",
      `the sockdiag helper could not be built (${built.why}): listing sockets with ss instead, at several times the CPU`,
    );
    return startSsWatch(hooks);
  }

  async function pollOnce(): Promise<void> {
    watch ??= await startWatch();
    let records: SsRecord[];
    try {
      records = await watch.poll();
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    if (signal.aborted) return;
    counts.polls++;
    const nowMs = Date.now();
    perPoll = new Map();
    table.applyPoll(records, nowMs);
    options.onPoll?.({ count: counts.polls, sockets: records.length, timeMs: nowMs });
  }

  async function checkHost(): Promise<void> {
    // Read where ss runs (a namespace has its own /proc/net view).
    const [cmd, args] = wrap("cat", ["/proc/net/if_inet6"]);
    const inet6 = await new Promise<string | undefined>((resolve) =>
      execFile(cmd, args, { signal }, (err, stdout) => resolve(err === null ? stdout : undefined)),
    );
    if (inet6 === undefined || inet6.trim() === "") {
      ipv6 = false;
      noticeOnce(
        "ipv6",
        `IPv6 is not enabled ${options.netns === undefined ? "on this host" : `in namespace ${options.netns}`} (${inet6 === undefined ? "no /proc/net/if_inet6" : "no IPv6 address"}): only IPv4 connections are collected`,
      );
    }
    try {
      const status = await readFile("/proc/self/status", "utf8");
      const eff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? "0"}`);
      const has = (bit: bigint) => (eff >> bit) & 1n;
      const lacking = [
        [CAP_SYS_PTRACE, "CAP_SYS_PTRACE"],
        [CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"],
      ]
        .filter(([bit]) => has(bit as bigint) === 0n)
        .map(([, name]) => name);
      if (lacking.length > 0) {
        noticeOnce(
          "caps",
          `running without ${lacking.join(" and ")}: connections of other users' processes carry no process_path, process_hash, parent_process or user_context`,
        );
      }
      if (options.capture !== false && has(CAP_NET_RAW) === 0n) {
        noticeOnce("netraw", "running without CAP_NET_RAW: the DNS/UDP capture will not start");
      }
    } catch {
      // No /proc/self/status: the reads below will say what is missing.
    }
  }

  async function* run(): AsyncGenerator<SourceEvent> {
    await checkHost();
    if (options.capture !== false) {
      dns = startDnsWatch({
        signal,
        onNotice: (m) => noticeOnce("dns", m),
        onSkip: ctx.onSkip,
        netns: options.netns,
      });
    }
    let failure: unknown;
    signal.addEventListener("abort", () => wake?.(), { once: true });
    const loop = (async () => {
      try {
        await pollOnce();
        // A capture that neither listens nor fails within 5 s does not hold up the polls.
        await Promise.race([dns?.ready, sleep(5000, signal)]);
        markReady();
        while (!signal.aborted) {
          const started = Date.now();
          await emitDue(started);
          await sleep(intervalMs - (Date.now() - started), signal);
          if (signal.aborted) break;
          await pollOnce();
        }
      } catch (err) {
        failure = err;
      } finally {
        markReady();
        wake?.();
      }
    })();
    try {
      for (;;) {
        if (head < queue.length) {
          const next = queue[head++] as SourceEvent;
          if (head > 4096 && head * 2 > queue.length) {
            queue.splice(0, head);
            head = 0;
          }
          yield next;
          continue;
        }
        if (failure !== undefined) throw failure;
        if (signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      stop.abort();
      await loop;
    }
  }

  return {
    events: { [Symbol.asyncIterator]: () => run() },
    ready,
    childPids: () => ({ ...watch?.pids(), capture: dns?.pid }),
    stats: () => ({
      ...counts,
      destroyEvents: watch?.destroyEvents ?? 0,
      lister: watch?.kind,
      ipv6,
      table: table.stats,
      dns: dns?.stats,
    }),
  };
}

/** Builds the event of a connection (see the semantics above). */
export function toEvent(
  c: Connection,
  who: Attribution,
  sent: bigint,
  recv: bigint,
  nowMs: number,
  dns: Pick<DnsWatch, "nameOf" | "udpFlow"> | undefined,
): NetworkEvent {
  const [initiator, responder] = c.outbound ? [c.local, c.remote] : [c.remote, c.local];
  const [initiatorSent, initiatorRecv] = c.outbound ? [sent, recv] : [recv, sent];
  let dnsQuery = "";
  if (c.proto === "udp" && responder.port === 53 && dns !== undefined) {
    const flow = dns.udpFlow(initiator.ip, initiator.port, responder.ip, responder.port);
    dnsQuery = (flow?.queries ?? []).join(",").slice(0, 1024);
  }
  return logEvent({
    timeMs: nowMs,
    processPath: who.path,
    processHash: who.hash,
    sourceIp: initiator.ip,
    destIp: responder.ip,
    destDomain: dns?.nameOf(responder.ip) ?? "",
    destPort: responder.port,
    bytesSent: initiatorSent,
    bytesRecv: initiatorRecv,
    protocol: c.proto.toUpperCase(),
    dnsQuery,
    parentProcess: who.parent,
    userContext: who.user,
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * `--source host`: this machine's TCP and UDP connections, IPv4 and IPv6,
 * with process attribution, polled every `--interval S` (default 1).
 */
export const hostSource: Source = {
  name: "host",
  description:
    "this host's TCP/UDP connections with their processes, from sock_diag (a small C helper, or ss) and a DNS capture (--interval S)",
  kind: "live",
  fields: HOST_FIELDS,
  open(options, ctx) {
    return createHostCollector({ intervalS: options.intervalS }, ctx).events;
  },
};
