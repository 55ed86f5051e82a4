import { isIP } from "node:net";
import { FormatGuard } from "../format-sniff.js";
import { readLines } from "../lines.js";
import { logEvent, parseCount, parseLogTime, transportName } from "../log-event.js";
import type { Source, SourceContext, SourceEvent, SourceOptions } from "../source.js";
import { ZeekDnsJoin } from "./zeek-dns.js";
import { CONN_FIELDS } from "./zeek-fields.js";
import { ZeekLogParser, type ZeekRow } from "./zeek-log.js";

/**
 * Zeek's conn.log, TSV or JSON lines, plain or gzipped, with dns.log joined
 * by `uid` when `--dns FILE` is given. The log format is read as
 * `zeek-log.ts` describes; each record maps field by field from
 * `Conn::Info` (https://docs.zeek.org/en/current/scripts/base/protocols/conn/main.zeek.html):
 *
 * | conn.log | telemetry | notes |
 * |---|---|---|
 * | `ts` (time of the first packet) | timestamp | epoch seconds or ISO 8601 |
 * | `uid` | the record key labels files name | |
 * | `id.orig_h` | source_ip | the originator; a sensor has no "local" side |
 * | `id.resp_h` | dest_ip | |
 * | `id.resp_p` | dest_port | 0 for ICMP, whose "ports" are type and code |
 * | `proto` (`tcp`, `udp`, `icmp`) | protocol (`TCP`, `UDP`, `ICMP`) | |
 * | `service` | — | tells a DNS conn (`dns` in the list) |
 * | `orig_bytes` / `resp_bytes` | bytes_sent / bytes_recv | unset (`-`) reads as 0, counted |
 * | dns.log `query` by `uid` | dns_query | DNS conns only |
 * | dns.log `answers` → `query` | dest_domain | the name an earlier answer gave `id.resp_h` |
 *
 * Process fields stay empty: a network sensor does not see processes.
 * Events go out in the file's order, which is the order connections ended,
 * not the order of `ts`.
 */
export const zeekSource: Source = {
  name: "zeek",
  description: "Zeek conn.log, TSV or JSON, gzipped or not (--input FILE, --dns dns.log)",
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
      throw new Error("--source zeek needs --input conn.log (or - for stdin)");
    return { [Symbol.asyncIterator]: () => readConnLog(input, options, ctx) };
  },
};

async function* readConnLog(
  input: string,
  options: SourceOptions,
  ctx: SourceContext,
): AsyncGenerator<SourceEvent> {
  const where = input === "-" ? "stdin" : input;
  const dns = options.dns === undefined ? undefined : new ZeekDnsJoin(options.dns, ctx);
  const guard = new FormatGuard("zeek", where, ctx);
  const parser = new ZeekLogParser({
    defaultFields: CONN_FIELDS,
    onAssumed: (line) =>
      ctx.onNotice(
        `${where}:${line}: no #fields header; reading conn.log in the documented default column order`,
      ),
    onPath: (path, line) => {
      if (path !== "conn") {
        const hint = path === "dns" ? " (give dns.log as --dns FILE)" : "";
        throw new Error(
          `${where}:${line}: this is Zeek's ${path}.log, --source zeek reads conn.log${hint}`,
        );
      }
    },
  });
  let unsetBytes = 0;
  let dnsConns = 0;
  let dnsUnjoined = 0;
  for await (const { text, line } of readLines(input, options, ctx)) {
    if (ctx.signal.aborted) return;
    const row = parser.parse(text, line);
    if (row === null) continue;
    if (typeof row === "string") {
      guard.bad(line, text, row);
      continue;
    }
    const path = row.text("_path");
    if (path !== undefined && path !== "conn") {
      guard.bad(line, text, `a Zeek ${path}.log record (_path ${path}), not conn.log`);
      continue;
    }
    const conn = connOf(row);
    if (typeof conn === "string") {
      guard.bad(line, text, conn);
      continue;
    }
    guard.good();
    if (conn.bytesUnset) {
      if (unsetBytes === 0)
        ctx.onNotice(
          `${where}:${line}: orig_bytes/resp_bytes unset (-), read as 0; Zeek leaves them unset ` +
            "when it saw no payload or could not tell (said once, counted at the end)",
        );
      unsetBytes++;
    }
    let dnsQuery = "";
    let destDomain = "";
    if (dns !== undefined) {
      await dns.advanceTo(conn.timeMs);
      destDomain = dns.nameOf(conn.destIp) ?? "";
      if (conn.isDns) {
        dnsConns++;
        const q = dns.queryOf(conn.uid);
        if (q === undefined) dnsUnjoined++;
        else dnsQuery = q;
      }
    }
    yield {
      event: logEvent({
        timeMs: conn.timeMs,
        sourceIp: conn.sourceIp,
        destIp: conn.destIp,
        destPort: conn.destPort,
        protocol: conn.protocol,
        bytesSent: conn.bytesSent,
        bytesRecv: conn.bytesRecv,
        dnsQuery,
        destDomain,
      }),
      label: undefined,
      key: conn.uid,
    };
  }
  guard.end();
  if (unsetBytes > 0)
    ctx.onNotice(`${where}: ${unsetBytes} conn(s) had unset byte counts, read as 0`);
  if (dnsUnjoined > 0)
    ctx.onNotice(
      `${where}: ${dnsUnjoined} of ${dnsConns} DNS conn(s) had no dns.log record with their uid; ` +
        "sent without dns_query",
    );
}

interface Conn {
  uid: string;
  timeMs: number;
  sourceIp: string;
  destIp: string;
  destPort: number;
  protocol: string;
  bytesSent: bigint;
  bytesRecv: bigint;
  bytesUnset: boolean;
  isDns: boolean;
}

/** @returns the conn a record describes, or what is wrong with it (naming the field). */
export function connOf(row: ZeekRow): Conn | string {
  // JSON logs carry no #path: a dns.log record has `query` and no `conn_state`.
  if (row.value("conn_state") === undefined && row.value("query") !== undefined)
    return "a Zeek dns.log record (query, no conn_state), not conn.log; give dns.log as --dns FILE";
  const ts = row.value("ts");
  const timeMs = parseLogTime(ts);
  if (timeMs === undefined) return `ts ${quoted(ts)} is not a time`;
  const sourceIp = row.text("id.orig_h");
  if (sourceIp === undefined || isIP(sourceIp) === 0)
    return `id.orig_h ${quoted(sourceIp)} is not an address`;
  const destIp = row.text("id.resp_h");
  if (destIp === undefined || isIP(destIp) === 0)
    return `id.resp_h ${quoted(destIp)} is not an address`;
  const protocol = transportName(row.text("proto") ?? "");
  const rawPort = row.value("id.resp_p");
  let destPort = parseCount(rawPort);
  if (destPort === undefined || destPort > 65535)
    return `id.resp_p ${quoted(rawPort)} is not a port`;
  // Zeek writes ICMP's type and code in the port fields; they are not ports.
  if (protocol === "ICMP") destPort = 0;
  const sent = row.value("orig_bytes");
  const recv = row.value("resp_bytes");
  const bytesSent = parseCount(sent);
  const bytesRecv = parseCount(recv);
  if (sent !== undefined && bytesSent === undefined)
    return `orig_bytes ${quoted(sent)} is not a count`;
  if (recv !== undefined && bytesRecv === undefined)
    return `resp_bytes ${quoted(recv)} is not a count`;
  const service = row.text("service") ?? "";
  return {
    uid: row.text("uid") ?? "",
    timeMs,
    sourceIp,
    destIp,
    destPort,
    protocol,
    bytesSent: BigInt(bytesSent ?? 0),
    bytesRecv: BigInt(bytesRecv ?? 0),
    bytesUnset: bytesSent === undefined || bytesRecv === undefined,
    isDns: service.includes("dns")
      ? service.split(",").includes("dns")
      : service === "" && destPort === 53 && (protocol === "UDP" || protocol === "TCP"),
  };
}

function quoted(v: unknown): string {
  if (v === undefined) return "unset";
  const s = String(v);
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}
