import { isIP } from "node:net";
import { BoundedMap } from "../bounded-map.js";
import { FormatGuard } from "../format-sniff.js";
import { JoinWait } from "../join-wait.js";
import { readLines } from "../lines.js";
import { logEvent, parseCount, parseLogTime, plainAddress, transportName } from "../log-event.js";
import type { Source, SourceContext, SourceEvent, SourceOptions } from "../source.js";
import { queryResultAddresses } from "./query-results.js";
import { isSysmonProvider, type SysmonRecord, sysmonFromJson } from "./sysmon-record.js";
import { sysmonFromXml, XmlEventSplitter } from "./sysmon-xml.js";

/** Records a connection waits for its process's creation (event 1) before it goes on without. */
export const PROCESS_WAIT_RECORDS = 1_000;
/** Connections held at once waiting for their process's creation. */
export const PROCESS_WAIT_PENDING = 10_000;
/** Processes remembered from event 1. */
export const PROCESS_CAPACITY = 100_000;
/** Resolved addresses remembered from event 22, per process and overall. */
export const DNS_CAPACITY = 100_000;

interface ProcessInfo {
  image: string;
  hash: string;
  parent: string;
  user: string;
}

interface Connection {
  guid: string;
  timeMs: number | undefined;
  image: string;
  user: string;
  sourceIp: string;
  destIp: string;
  destPort: number;
  protocol: string;
  hostname: string;
}

/**
 * Windows Sysmon events (https://learn.microsoft.com/en-us/sysinternals/downloads/sysmon#events),
 * as JSON lines in winlogbeat's shape (`sysmon-record.ts`) or as Windows
 * event XML (`sysmon-xml.ts`), one `<Event>` a line or over many. Event 3
 * (network connection) is the connection, joined by `ProcessGuid` with
 * event 1 (process creation) and event 22 (DNS query):
 *
 * | Sysmon | telemetry | notes |
 * |---|---|---|
 * | 3 `UtcTime` | timestamp | UTC, `YYYY-MM-DD hh:mm:ss.sss` |
 * | 3 `ProcessGuid` | the record key labels files name | |
 * | 3 `Image` (1 `Image`) | process_path | |
 * | 1 `Hashes` (`SHA256=…,MD5=…`) | process_hash | SHA256, else SHA1, else MD5 |
 * | 1 `ParentImage` | parent_process | the image name, as the telemetry has it |
 * | 1 `User` (else 3 `User`) | user_context | the account without its domain |
 * | 3 `SourceIp` / `DestinationIp` | source_ip / dest_ip | see orientation below |
 * | 3 `DestinationPort` | dest_port | |
 * | 3 `Protocol` (`tcp`, `udp`) | protocol | |
 * | 22 `QueryName` whose `QueryResults` hold `DestinationIp` | dns_query, dest_domain | same process; CNAMEs and `::ffff:` handled |
 * | 3 `DestinationHostname` | dest_domain | when no query resolved the address |
 * | — | bytes_sent, bytes_recv | Sysmon does not record them: 0 |
 *
 * Orientation: Sysmon writes the initiator as Source and sets `Initiated`
 * to whether the logging process initiated; an inbound connection
 * (`Initiated` false, e.g. RDP to this host) has the remote client as
 * Source and this host's listening port as `DestinationPort`. The reader
 * keeps Sysmon's orientation, initiator → responder, as the Zeek and
 * Suricata readers do, so the same connection reads alike from host and
 * network, and `dest_port` stays the service port.
 *
 * A connection read before its process's event 1 waits
 * `PROCESS_WAIT_RECORDS` records for it, then goes on with event 3's own
 * `Image` and `User` and no hash or parent (counted): processes started
 * before Sysmon or before the export began never have an event 1.
 */
export const sysmonSource: Source = {
  name: "sysmon",
  description: "Windows Sysmon events 1, 3, 22 as winlogbeat JSON or event XML (--input FILE)",
  kind: "file",
  fields: [
    "timestamp",
    "process_path",
    "process_hash",
    "source_ip",
    "dest_ip",
    "dest_domain",
    "dest_port",
    "protocol",
    "dns_query",
    "parent_process",
    "user_context",
  ],
  open(options, ctx) {
    const input = options.input;
    if (input === undefined) throw new Error("--source sysmon needs --input FILE (or - for stdin)");
    return { [Symbol.asyncIterator]: () => readSysmon(input, options, ctx) };
  },
};

async function* readSysmon(
  input: string,
  options: SourceOptions,
  ctx: SourceContext,
): AsyncGenerator<SourceEvent> {
  const where = input === "-" ? "stdin" : input;
  const guard = new FormatGuard("sysmon", where, ctx);
  const splitter = new XmlEventSplitter();
  const processes = new BoundedMap<string, ProcessInfo>(PROCESS_CAPACITY);
  const processNames = new BoundedMap<string, string>(DNS_CAPACITY);
  const names = new BoundedMap<string, string>(DNS_CAPACITY);
  const waiting = new JoinWait<string, Connection>({
    maxLines: PROCESS_WAIT_RECORDS,
    maxPending: PROCESS_WAIT_PENDING,
  });
  const counts = { connections: 0, noProcess: 0, otherProvider: 0, otherEvent: 0 };
  let records = 0;

  const finish = (c: Connection, p: ProcessInfo | undefined): SourceEvent => {
    const query = processNames.get(`${c.guid}|${c.destIp}`);
    return {
      event: logEvent({
        timeMs: c.timeMs,
        processPath: p?.image || c.image,
        processHash: p?.hash ?? "",
        parentProcess: p?.parent ?? "",
        userContext: accountName(p?.user || c.user),
        sourceIp: c.sourceIp,
        destIp: c.destIp,
        destPort: c.destPort,
        protocol: c.protocol,
        dnsQuery: query ?? "",
        destDomain: query ?? names.get(c.destIp) ?? c.hostname,
      }),
      label: undefined,
      key: c.guid,
    };
  };
  const late = (c: Connection): SourceEvent => {
    counts.noProcess++;
    return finish(c, undefined);
  };

  /** Handles one record; returns the events it lets go. */
  const handle = (r: SysmonRecord, at: string): SourceEvent[] => {
    records++;
    const out = waiting.size > 0 ? waiting.expired(records).map(late) : [];
    if (!isSysmonProvider(r.provider)) {
      counts.otherProvider++;
      return out;
    }
    const d = r.data;
    const guid = d.ProcessGuid ?? "";
    if (r.eventId === 1) {
      const info: ProcessInfo = {
        image: d.Image ?? "",
        hash: pickHash(d.Hashes ?? ""),
        parent: imageName(d.ParentImage ?? ""),
        user: d.User ?? "",
      };
      if (guid !== "") {
        processes.set(guid, info);
        for (const c of waiting.take(guid)) out.push(finish(c, info));
      }
    } else if (r.eventId === 22) {
      const query = d.QueryName ?? "";
      if (query !== "")
        for (const a of queryResultAddresses(d.QueryResults ?? "")) {
          names.set(a, query);
          if (guid !== "") processNames.set(`${guid}|${a}`, query);
        }
    } else if (r.eventId === 3) {
      const c = connectionOf(r);
      if (typeof c === "string") {
        ctx.onSkip({ where: at, message: c });
        return out;
      }
      counts.connections++;
      const p = processes.get(c.guid);
      if (p !== undefined || c.guid === "") out.push(p ? finish(c, p) : late(c));
      else for (const pushed of waiting.hold(c.guid, c, records)) out.push(late(pushed));
    } else {
      counts.otherEvent++;
    }
    return out;
  };

  for await (const { text, line } of readLines(input, options, ctx)) {
    if (ctx.signal.aborted) return;
    const t = text.trimStart();
    if (t === "" && !splitter.open) continue;
    if (!splitter.open && t.startsWith("{")) {
      let obj: unknown;
      try {
        obj = JSON.parse(t);
      } catch (e) {
        guard.bad(line, text, `not JSON (${(e as Error).message.slice(0, 80)})`);
        continue;
      }
      if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
        guard.bad(line, text, "not a JSON object");
        continue;
      }
      const r = sysmonFromJson(obj as Record<string, unknown>);
      if (typeof r === "string") {
        guard.bad(line, text, r);
        continue;
      }
      guard.good();
      yield* handle(r, `${where}:${line}`);
      continue;
    }
    const { events, problem } = splitter.push(text, line);
    if (problem !== undefined) guard.bad(line, text, problem);
    for (const ev of events) {
      const r = sysmonFromXml(ev.xml);
      if (typeof r === "string") {
        guard.bad(ev.line, ev.xml, r);
        continue;
      }
      guard.good();
      yield* handle(r, `${where}:${ev.line}`);
    }
  }
  if (splitter.open)
    ctx.onSkip({
      where: `${where}:${splitter.startLine}`,
      message: "<Event> never closed: the file ends inside it",
    });
  for (const c of waiting.drain()) yield late(c);
  guard.end();
  if (counts.noProcess > 0)
    ctx.onNotice(
      `${where}: ${counts.noProcess} of ${counts.connections} connection(s) had no process ` +
        `creation (event 1) within ${PROCESS_WAIT_RECORDS} records; sent without hash and parent`,
    );
  if (counts.otherProvider > 0)
    ctx.onNotice(`${where}: passed over ${counts.otherProvider} event(s) of other providers`);
  if (records > 0 && counts.connections === 0)
    ctx.onNotice(`${where}: no network connection events (Sysmon event 3); is NetworkConnect on?`);
}

function connectionOf(r: SysmonRecord): Connection | string {
  const d = r.data;
  const timeMs = parseLogTime(d.UtcTime ?? r.time);
  if (timeMs === undefined) return `UtcTime ${JSON.stringify(d.UtcTime)} is not a time`;
  const sourceIp = plainAddress(d.SourceIp ?? "");
  const destIp = plainAddress(d.DestinationIp ?? "");
  if (isIP(sourceIp) === 0) return `SourceIp ${JSON.stringify(d.SourceIp)} is not an address`;
  if (isIP(destIp) === 0)
    return `DestinationIp ${JSON.stringify(d.DestinationIp)} is not an address`;
  const destPort = parseCount(d.DestinationPort ?? "");
  if (destPort === undefined || destPort > 65535)
    return `DestinationPort ${JSON.stringify(d.DestinationPort)} is not a port`;
  const host = d.DestinationHostname ?? "";
  return {
    guid: d.ProcessGuid ?? "",
    timeMs,
    image: d.Image ?? "",
    user: d.User ?? "",
    sourceIp,
    destIp,
    destPort,
    protocol: transportName(d.Protocol ?? ""),
    hostname: host === "-" ? "" : host,
  };
}

/** SHA256, else SHA1, else MD5, else IMPHASH from `SHA1=…,MD5=…,SHA256=…,IMPHASH=…`. */
export function pickHash(hashes: string): string {
  const found: Record<string, string> = {};
  for (const part of hashes.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) found[part.slice(0, eq).trim().toUpperCase()] = part.slice(eq + 1).trim();
  }
  return found.SHA256 ?? found.SHA1 ?? found.MD5 ?? found.IMPHASH ?? "";
}

/** `C:\Windows\explorer.exe` → `explorer.exe`; `/usr/bin/bash` → `bash`. */
function imageName(path: string): string {
  const cut = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  return cut >= 0 ? path.slice(cut + 1) : path;
}

/** `NT AUTHORITY\SYSTEM` → `SYSTEM`, `CORP\alice` → `alice`: the account, as the telemetry has it. */
function accountName(user: string): string {
  const cut = user.lastIndexOf("\\");
  return cut >= 0 ? user.slice(cut + 1) : user;
}
