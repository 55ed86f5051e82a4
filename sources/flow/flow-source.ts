import { createSocket, type RemoteInfo } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Source, SourceContext, SourceEvent } from "../source.js";
import { FlowDecoder, type FlowDecoderStats } from "./flow-decoder.js";
import { connectionEvent } from "./flow-event.js";
import {
  DEFAULT_PAIR_WAIT_MS,
  FlowPairer,
  type FlowPairerOptions,
  type FlowPairerStats,
} from "./pair-flows.js";
import type { TemplateCacheOptions } from "./templates.js";

/** Where the collector listens unless `--listen` says: NetFlow's customary port, loopback only. */
export const DEFAULT_LISTEN = "127.0.0.1:2055";

/** Events decoded but not yet taken by the consumer; past it new ones are dropped and counted. */
const MAX_QUEUED = 100_000;

/** Tuning of a {@link FlowListener}; the defaults suit a live collector. */
export interface FlowListenerOptions extends TemplateCacheOptions, FlowPairerOptions {
  /** How often waiting flows and held data sets are checked for age, ms. Default 1,000. */
  sweepMs?: number;
}

/** A bound collector socket and the events it produces. */
export interface FlowListener {
  /** Address and port actually bound (port 0 resolved). */
  address: string;
  port: number;
  /** Connections as they complete; ends (after flushing every waiting flow) when the signal aborts. */
  events: AsyncIterable<SourceEvent>;
  stats: { decoder: FlowDecoderStats; pairer: FlowPairerStats; dropped: number };
}

/**
 * Splits `HOST:PORT` (`[::1]:2055` for IPv6).
 * @throws Error naming the text when it is not one.
 */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new Error(`--listen ${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:2055)`);
  return { host: m[1] as string, port };
}

/**
 * Binds a UDP socket and decodes every datagram as NetFlow v5, v9 or IPFIX
 * (told apart by the version field), pairing flows into connections.
 * Problems go to `ctx.onSkip`; the socket keeps listening.
 * @throws Error naming the address when it cannot be bound.
 */
/** Receive buffer asked of the kernel for the flow socket, bytes. */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;

export async function listenForFlows(
  listen: string,
  ctx: SourceContext,
  options: FlowListenerOptions = {},
): Promise<FlowListener> {
  const { host, port } = parseListen(listen);
  const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (e) => reject(new Error(`cannot listen on udp ${listen}: ${e.message}`)));
    socket.bind(port, host, () => resolve());
  });
  // Exporters send in bursts (softflowd -r sends a whole capture's flows at
  // once): the kernel's default ~208 KiB receive buffer overflowed and lost
  // 40 % of them in the lab. Ask for more; the kernel caps the request at
  // net.core.rmem_max, and says so once if it is lower.
  try {
    socket.setRecvBufferSize(RECV_BUFFER_BYTES);
    const got = socket.getRecvBufferSize();
    if (got < RECV_BUFFER_BYTES)
      ctx.onNotice(
        `udp ${listen}: receive buffer ${got} bytes (asked ${RECV_BUFFER_BYTES}; raise net.core.rmem_max so bursts of exports are not dropped)`,
      );
  } catch (e) {
    ctx.onNotice(`udp ${listen}: cannot size the receive buffer: ${(e as Error).message}`);
  }
  const bound = socket.address();
  const queue: SourceEvent[] = [];
  let wake: (() => void) | undefined;
  let dropped = 0;
  let saidAlone = false;
  const pairer = new FlowPairer((c) => {
    if (c.kind === "alone" && !saidAlone) {
      saidAlone = true;
      ctx.onNotice(
        `a flow's reverse direction did not arrive within ${(options.waitMs ?? DEFAULT_PAIR_WAIT_MS) / 1000} s (or the pairing table was full): such flows go out alone, bytes_recv 0 (first: ${c.initiatorIp} -> ${c.responderIp}:${c.responderPort})`,
      );
    }
    if (queue.length >= MAX_QUEUED) {
      dropped++;
      if (dropped === 1 || dropped % 10_000 === 0)
        ctx.onSkip({
          where: `udp ${listen}`,
          message: `${dropped} events dropped: reader too slow`,
        });
      return;
    }
    queue.push({ event: connectionEvent(c), label: undefined });
    wake?.();
  }, options);
  const decoder = new FlowDecoder((p) => ctx.onSkip(p), options);
  socket.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
    const now = Date.now();
    try {
      for (const record of decoder.decode(msg, rinfo.address, rinfo.port, now))
        pairer.add(record, now);
    } catch (e) {
      // The decoder reports bad input itself; anything thrown is a bug, and still no crash.
      ctx.onSkip({
        where: `exporter ${rinfo.address}:${rinfo.port}`,
        message: `datagram of ${msg.length} bytes not decoded: ${(e as Error).message}`,
      });
    }
  });
  socket.on("error", (e) => ctx.onNotice(`flow socket udp ${listen}: ${e.message}`));
  const sweep = setInterval(() => {
    const now = Date.now();
    decoder.expire(now);
    pairer.flush(now);
  }, options.sweepMs ?? 1000);
  sweep.unref();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(sweep);
    socket.close();
    decoder.expire(Date.now(), true);
    pairer.flush(Date.now(), true);
    wake?.();
  };
  if (ctx.signal.aborted) close();
  else ctx.signal.addEventListener("abort", close, { once: true });
  async function* events(): AsyncGenerator<SourceEvent> {
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift() as SourceEvent;
        if (closed) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      close();
    }
  }
  return {
    address: bound.address,
    port: bound.port,
    events: events(),
    stats: {
      decoder: decoder.stats,
      pairer: pairer.stats,
      get dropped() {
        return dropped;
      },
    },
  };
}

/**
 * The flow collector: NetFlow v5, NetFlow v9 and IPFIX over UDP on one
 * socket, one event per connection seen from its initiator (two
 * unidirectional flows paired, or one RFC 5103 biflow). Flow records carry
 * no process, user or DNS fields; those stay empty.
 */
export const ipfixSource: Source = {
  name: "ipfix",
  description: `NetFlow v5/v9 and IPFIX collector over UDP (--listen HOST:PORT, default ${DEFAULT_LISTEN})`,
  kind: "live",
  fields: [
    "timestamp",
    "source_ip",
    "dest_ip",
    "dest_port",
    "bytes_sent",
    "bytes_recv",
    "protocol",
  ],
  open(options, ctx) {
    const listen = options.listen ?? DEFAULT_LISTEN;
    return {
      async *[Symbol.asyncIterator](): AsyncGenerator<SourceEvent> {
        const listener = await listenForFlows(listen, ctx);
        ctx.onNotice(
          `listening for NetFlow v5/v9 and IPFIX on udp ${listener.address}:${listener.port}`,
        );
        yield* listener.events;
      },
    };
  },
};
