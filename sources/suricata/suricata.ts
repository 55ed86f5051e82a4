import { isIP } from "node:net";
import { BoundedMap } from "../bounded-map.js";
import { FormatGuard } from "../format-sniff.js";
import { JoinWait } from "../join-wait.js";
import { readLines } from "../lines.js";
import { logEvent, parseCount, parseLogTime, transportName } from "../log-event.js";
import type { Source, SourceContext, SourceEvent, SourceOptions } from "../source.js";
import { eveDns } from "./eve-dns.js";

/** Lines a DNS flow waits for its `dns` event before it goes on without a query. */
export const DNS_WAIT_LINES = 5_000;
/** DNS flows held at once waiting for their `dns` event. */
export const DNS_WAIT_PENDING = 10_000;
/** Flows remembered with their DNS query or TLS/HTTP name, until their flow event comes. */
export const FLOW_NAME_CAPACITY = 100_000;
/** Answered addresses remembered with the name they answered. */
export const ADDRESS_NAME_CAPACITY = 100_000;

interface FlowNames {
  query?: string;
  host?: string;
}

/**
 * Suricata's EVE JSON log (one event per line,
 * https://docs.suricata.io/en/latest/output/eve/eve-json-format.html).
 * Each `flow` event (a flow that ended or timed out) is one connection:
 *
 * | EVE | telemetry | notes |
 * |---|---|---|
 * | `flow.start` (else `timestamp`) | timestamp | `+hhmm` offsets read |
 * | `flow_id` | the record key labels files name | read as text: it passes 2^53 |
 * | `src_ip` | source_ip | the client, as Suricata oriented the flow |
 * | `dest_ip` | dest_ip | |
 * | `dest_port` | dest_port | absent for ICMP (which has `icmp_type`): 0 |
 * | `proto` (`TCP`, `UDP`, `ICMP`, `IPv6-ICMP`, or a number) | protocol | |
 * | `flow.bytes_toserver` / `flow.bytes_toclient` | bytes_sent / bytes_recv | absent: 0, counted |
 * | `dns` events' `rrname`, by `flow_id` | dns_query | DNS flows (`app_proto: dns`) |
 * | `dns` answers' A/AAAA `rdata` → `rrname` | dest_domain | names later flows to that address |
 * | `tls.sni`, `http.hostname`, by `flow_id` | dest_domain | the flow's own name wins over DNS |
 *
 * Suricata logs a flow's `dns` events as the transactions complete and the
 * `flow` event when the flow ends, so the partner is normally read first;
 * a DNS flow read before its `dns` event waits `DNS_WAIT_LINES` lines for
 * it and then goes on without a query (counted, said at the end). Events of
 * other types (`alert`, `http`, `tls`, `fileinfo`, `stats`, `netflow`…)
 * are not connections: passed over silently, counted by type.
 */
export const suricataSource: Source = {
  name: "suricata",
  description: "Suricata EVE JSON: flow events joined with dns events (--input eve.json)",
  kind: "file",
  fields: [
    "timestamp",
    "source_ip",
    "dest_ip",
    "dest_domain",
    "dest_port",
    "bytes_sent",
    "bytes_recv",
    "protocol",
    "dns_query",
  ],
  open(options, ctx) {
    const input = options.input;
    if (input === undefined)
      throw new Error("--source suricata needs --input eve.json (or - for stdin)");
    return { [Symbol.asyncIterator]: () => readEve(input, options, ctx) };
  },
};

interface Flow {
  key: string;
  fields: Parameters<typeof logEvent>[0];
}

const FLOW_ID = /"flow_id"\s*:\s*(\d+)/;

async function* readEve(
  input: string,
  options: SourceOptions,
  ctx: SourceContext,
): AsyncGenerator<SourceEvent> {
  const where = input === "-" ? "stdin" : input;
  const guard = new FormatGuard("suricata", where, ctx);
  const flowNames = new BoundedMap<string, FlowNames>(FLOW_NAME_CAPACITY);
  const addressNames = new BoundedMap<string, string>(ADDRESS_NAME_CAPACITY);
  const waiting = new JoinWait<string, Flow>({
    maxLines: DNS_WAIT_LINES,
    maxPending: DNS_WAIT_PENDING,
  });
  const passed = new Map<string, number>();
  let flows = 0;
  let noBytes = 0;
  let dnsFlows = 0;
  let unjoined = 0;
  const finish = (flow: Flow, names: FlowNames | undefined): SourceEvent => {
    flowNames.delete(flow.key);
    const f = flow.fields;
    f.dnsQuery = names?.query ?? "";
    f.destDomain = names?.host ?? addressNames.get(f.destIp ?? "") ?? "";
    return { event: logEvent(f), label: undefined, key: flow.key };
  };
  const late = (flow: Flow): SourceEvent => {
    unjoined++;
    return finish(flow, flowNames.get(flow.key));
  };
  let lastLine = 0;
  for await (const { text, line } of readLines(input, options, ctx)) {
    if (ctx.signal.aborted) return;
    lastLine = line;
    if (waiting.size > 0) for (const f of waiting.expired(line)) yield late(f);
    if (text.length === 0 || text.trim() === "") continue;
    let ev: Record<string, unknown>;
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        guard.bad(line, text, "not a JSON object");
        continue;
      }
      ev = v as Record<string, unknown>;
    } catch (e) {
      guard.bad(line, text, `not JSON (${(e as Error).message.slice(0, 80)})`);
      continue;
    }
    const type = ev.event_type;
    if (typeof type !== "string") {
      guard.bad(line, text, "no event_type: not an EVE event");
      continue;
    }
    guard.good();
    const key = FLOW_ID.exec(text)?.[1];
    if (type === "flow") {
      const flow = flowOf(ev, key);
      if (typeof flow === "string") {
        ctx.onSkip({ where: `${where}:${line}`, message: flow });
        continue;
      }
      flows++;
      if (flow.noBytes) noBytes++;
      const names = flowNames.get(flow.key);
      if (!flow.isDns || names?.query !== undefined || key === undefined) {
        if (flow.isDns) dnsFlows++;
        if (flow.isDns && names?.query === undefined) unjoined++;
        yield finish(flow, names);
        continue;
      }
      dnsFlows++;
      for (const f of waiting.hold(flow.key, flow, line)) yield late(f);
      continue;
    }
    if (key !== undefined) {
      if (type === "dns" && typeof ev.dns === "object" && ev.dns !== null) {
        const { query, addresses } = eveDns(ev.dns as Record<string, unknown>);
        if (query !== undefined) {
          const names = flowNames.get(key) ?? {};
          names.query ??= query;
          flowNames.set(key, names);
          for (const a of addresses) addressNames.set(a, query);
          for (const f of waiting.take(key)) yield finish(f, names);
        }
      } else if (type === "tls" || type === "http") {
        const obj = ev[type] as Record<string, unknown> | undefined;
        const host = type === "tls" ? obj?.sni : obj?.hostname;
        if (typeof host === "string" && host !== "") {
          const names = flowNames.get(key) ?? {};
          names.host ??= host;
          flowNames.set(key, names);
        }
      }
    }
    passed.set(type, (passed.get(type) ?? 0) + 1);
  }
  for (const f of waiting.drain()) yield late(f);
  guard.end();
  if (noBytes > 0)
    ctx.onNotice(
      `${where}: ${noBytes} flow(s) without flow.bytes_toserver/bytes_toclient, read as 0`,
    );
  if (unjoined > 0)
    ctx.onNotice(
      `${where}: ${unjoined} of ${dnsFlows} DNS flow(s) had no dns event with their flow_id ` +
        `within ${DNS_WAIT_LINES} lines; sent without dns_query`,
    );
  if (passed.size > 0) {
    const list = [...passed].map(([t, n]) => `${t} ${n}`).join(", ");
    ctx.onNotice(
      `${where}: ${flows} flow event(s) read; other event types: ${list} ` +
        "(dns, tls and http events name flows; the others are passed over)",
    );
  }
  if (flows === 0 && lastLine > 0)
    ctx.onNotice(
      `${where}: no flow events; Suricata writes them when eve-log types include "flow"`,
    );
}

function flowOf(
  ev: Record<string, unknown>,
  key: string | undefined,
): (Flow & { isDns: boolean; noBytes: boolean }) | string {
  const flow = (typeof ev.flow === "object" && ev.flow !== null ? ev.flow : {}) as Record<
    string,
    unknown
  >;
  const timeMs = parseLogTime(flow.start ?? ev.timestamp);
  if (timeMs === undefined) return `flow.start ${JSON.stringify(flow.start)} is not a time`;
  const src = ev.src_ip;
  const dest = ev.dest_ip;
  if (typeof src !== "string" || isIP(src) === 0)
    return `src_ip ${JSON.stringify(src)} is not an address`;
  if (typeof dest !== "string" || isIP(dest) === 0)
    return `dest_ip ${JSON.stringify(dest)} is not an address`;
  const protocol = transportName(ev.proto);
  let destPort = 0;
  if (ev.dest_port !== undefined && protocol !== "ICMP") {
    const p = parseCount(ev.dest_port);
    if (p === undefined || p > 65535)
      return `dest_port ${JSON.stringify(ev.dest_port)} is not a port`;
    destPort = p;
  }
  const sent = parseCount(flow.bytes_toserver);
  const recv = parseCount(flow.bytes_toclient);
  return {
    key: key ?? "",
    fields: {
      timeMs,
      sourceIp: src,
      destIp: dest,
      destPort,
      protocol,
      bytesSent: BigInt(sent ?? 0),
      bytesRecv: BigInt(recv ?? 0),
    },
    isDns: ev.app_proto === "dns" || (destPort === 53 && ev.app_proto === undefined),
    noBytes: sent === undefined || recv === undefined,
  };
}
