import { type ChildProcess, spawn } from "node:child_process";
import { DnsParseError, parseDnsMessage } from "./dns-message.js";
import { createPcapReader, type UdpDatagram } from "./pcap-stream.js";

/**
 * Learns names from DNS answers seen on the wire, and meters UDP flows, from
 * one `tcpdump -i any -n -U --immediate-mode -y LINUX_SLL2 -s 4096 -B 16384 -w - udp`
 * child whose pcap stream is decoded here (see `pcap-stream.ts`,
 * `dns-message.ts`).
 *
 * - Names: every A/AAAA answer maps its address to the *question* name of
 *   the response (what the program asked for, before any CNAME), kept for
 *   max(TTL, `minKeepS`) capped at `maxKeepS`; the map holds `maxNames`
 *   addresses and drops the oldest first.
 * - UDP flows: payload bytes per direction of each (address, port) pair,
 *   and the question names of DNS queries sent on it; `maxFlows` flows,
 *   dropped after `flowIdleS` without a packet. The kernel keeps no byte
 *   counters on UDP sockets, so this capture is the only source of them.
 *
 * The capture needs CAP_NET_RAW. Without it (or without tcpdump) the watch
 * says so once and every name, query and UDP byte count stays empty.
 */

/** Options of {@link startDnsWatch}. */
export interface DnsWatchOptions {
  signal: AbortSignal;
  onNotice(message: string): void;
  onSkip(problem: { where: string; message: string }): void;
  /** Capture program; default `tcpdump`. */
  command?: string;
  /** Run the capture in this network namespace (`ip netns exec NAME`). */
  netns?: string;
  /** Addresses remembered; default 16384. */
  maxNames?: number;
  /** UDP flows remembered; default 16384. */
  maxFlows?: number;
  /** Shortest time a name is kept, seconds; default 300 (programs cache past the TTL). */
  minKeepS?: number;
  /** Longest time a name is kept, seconds; default 3600. */
  maxKeepS?: number;
  /** A UDP flow without packets for this long is forgotten, seconds; default 120. */
  flowIdleS?: number;
}

/** Bytes and DNS questions of one UDP flow, from its initiator's side. */
export interface UdpFlowCount {
  sent: bigint;
  recv: bigint;
  queries: string[];
}

/** A running watch. */
export interface DnsWatch {
  /** Resolves true once the capture is listening, false if it cannot run. */
  readonly ready: Promise<boolean>;
  /** The name an address was last answered for, or "". */
  nameOf(ip: string): string;
  /** Counts of the UDP flow local → remote, or undefined when never seen. */
  udpFlow(
    localIp: string,
    localPort: number,
    remoteIp: string,
    remotePort: number,
  ): UdpFlowCount | undefined;
  /** Whether the capture is running (UDP byte counts are measured). */
  readonly capturing: boolean;
  /** pid of the capture child, for CPU accounting. */
  readonly pid: number | undefined;
  /** Stats for reports and tests. */
  readonly stats: {
    datagrams: number;
    answers: number;
    badMessages: number;
    names: number;
    flows: number;
  };
}

interface Flow {
  bytes: bigint;
  lastMs: number;
  queries: string[];
}

const MAX_QUERIES_PER_FLOW = 8;
const SNAPLEN = 4096;

/** Starts the capture child and returns the watch; never throws. */
export function startDnsWatch(options: DnsWatchOptions): DnsWatch {
  const maxNames = options.maxNames ?? 16_384;
  const maxFlows = options.maxFlows ?? 16_384;
  const minKeepMs = (options.minKeepS ?? 300) * 1000;
  const maxKeepMs = (options.maxKeepS ?? 3600) * 1000;
  const flowIdleMs = (options.flowIdleS ?? 120) * 1000;
  const names = new Map<string, { name: string; expiresMs: number }>();
  const flows = new Map<string, Flow>();
  const stats = { datagrams: 0, answers: 0, badMessages: 0, truncated: 0, names: 0, flows: 0 };
  let capturing = false;
  let child: ChildProcess | undefined;
  let settle: (ok: boolean) => void = () => {};
  const ready = new Promise<boolean>((resolve) => {
    settle = resolve;
  });

  function learn(datagram: UdpDatagram): void {
    stats.datagrams++;
    const key = `${datagram.src}|${datagram.srcPort}|${datagram.dst}|${datagram.dstPort}`;
    let flow = flows.get(key);
    if (flow === undefined) {
      if (flows.size >= maxFlows) evictFlows(datagram.timeMs);
      flow = { bytes: 0n, lastMs: datagram.timeMs, queries: [] };
      flows.set(key, flow);
    }
    flow.bytes += BigInt(datagram.length);
    flow.lastMs = datagram.timeMs;
    if (datagram.srcPort !== 53 && datagram.dstPort !== 53) return;
    // Cut by the snapshot length: its later answers are gone, not malformed.
    if (datagram.payload.length < datagram.length) {
      stats.truncated++;
      return;
    }
    let message: ReturnType<typeof parseDnsMessage>;
    try {
      message = parseDnsMessage(datagram.payload);
    } catch (err) {
      if (!(err instanceof DnsParseError)) throw err;
      stats.badMessages++;
      options.onSkip({
        where: `dns ${datagram.src}.${datagram.srcPort} > ${datagram.dst}.${datagram.dstPort}`,
        message: err.message,
      });
      return;
    }
    if (!message.response) {
      for (const q of message.questions) {
        if (flow.queries.length < MAX_QUERIES_PER_FLOW && !flow.queries.includes(q))
          flow.queries.push(q);
      }
      return;
    }
    const asked = message.questions[0];
    for (const answer of message.answers) {
      if (answer.type === "CNAME") continue;
      stats.answers++;
      const keepMs = Math.min(maxKeepMs, Math.max(minKeepMs, answer.ttl * 1000));
      names.delete(answer.data);
      if (names.size >= maxNames) names.delete(names.keys().next().value as string);
      names.set(answer.data, { name: asked ?? answer.name, expiresMs: Date.now() + keepMs });
    }
  }

  function evictFlows(nowMs: number): void {
    for (const [key, flow] of flows) {
      if (nowMs - flow.lastMs > flowIdleMs) flows.delete(key);
    }
    // Still full: drop the oldest quarter (insertion order).
    if (flows.size >= maxFlows) {
      let drop = Math.ceil(maxFlows / 4);
      for (const key of flows.keys()) {
        if (drop-- <= 0) break;
        flows.delete(key);
      }
    }
  }

  const command = options.command ?? "tcpdump";
  const args = [
    "-i",
    "any",
    "-n",
    "-U",
    "--immediate-mode",
    "-y",
    "LINUX_SLL2",
    // 4 kB holds a DNS answer (EDNS buffers are 1232–4096 bytes) while a
    // flood of large datagrams takes less of the ring; 16 MB of ring rides
    // out bursts without kernel drops.
    "-s",
    String(SNAPLEN),
    "-B",
    "16384",
    "-w",
    "-",
    "udp",
  ];
  let stderrTail = "";
  let failed = false;
  const fail = (why: string) => {
    capturing = false;
    settle(false);
    if (failed) return;
    failed = true;
    options.onNotice(
      `dns watch: ${why}; dest_domain, dns_query and UDP byte counts stay empty (the capture needs ${command} and CAP_NET_RAW)`,
    );
  };
  if (!options.signal.aborted) {
    const reader = createPcapReader({
      onDatagram: learn,
      onProblem: (p) => options.onSkip({ where: `${command} ${p.where}`, message: p.message }),
    });
    try {
      const [cmd, argv] =
        options.netns === undefined
          ? [command, args]
          : ["ip", ["netns", "exec", options.netns, command, ...args]];
      child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], signal: options.signal });
    } catch (err) {
      fail(`cannot start ${command}: ${String(err)}`);
    }
    child?.on("error", (err: NodeJS.ErrnoException) => {
      if (err.name === "AbortError") return;
      fail(err.code === "ENOENT" ? `${command} is not installed` : `${command}: ${err.message}`);
    });
    child?.stdout?.on("data", (chunk: Buffer) => reader.push(chunk));
    child?.stderr?.setEncoding("utf8");
    child?.stderr?.on("data", (text: string) => {
      if (text.includes("listening on")) {
        capturing = true;
        settle(true);
      }
      stderrTail = (stderrTail + text).slice(-400);
    });
    child?.on("exit", (code, sig) => {
      if (options.signal.aborted) return;
      const last = stderrTail.trim().split("\n").pop() ?? "";
      fail(`${command} exited (${sig ?? `code ${code}`})${last === "" ? "" : `: ${last}`}`);
    });
  } else {
    settle(false);
  }

  return {
    ready,
    get capturing() {
      return capturing;
    },
    get pid() {
      return child?.pid;
    },
    get stats() {
      return { ...stats, names: names.size, flows: flows.size };
    },
    nameOf(ip) {
      const hit = names.get(ip);
      if (hit === undefined) return "";
      if (hit.expiresMs < Date.now()) {
        names.delete(ip);
        return "";
      }
      return hit.name;
    },
    udpFlow(localIp, localPort, remoteIp, remotePort) {
      const out = flows.get(`${localIp}|${localPort}|${remoteIp}|${remotePort}`);
      const back = flows.get(`${remoteIp}|${remotePort}|${localIp}|${localPort}`);
      if (out === undefined && back === undefined) return undefined;
      return { sent: out?.bytes ?? 0n, recv: back?.bytes ?? 0n, queries: out?.queries ?? [] };
    },
  };
}
