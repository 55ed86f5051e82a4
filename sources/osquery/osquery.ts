import { isIP } from "node:net";
import { FormatGuard } from "../format-sniff.js";
import { readLines } from "../lines.js";
import { logEvent, parseCount, parseLogTime, plainAddress, transportName } from "../log-event.js";
import type { Source, SourceContext, SourceEvent, SourceOptions } from "../source.js";

/** The columns `netanomaly-pack.conf`'s query returns, which the reader reads. */
export const PACK_COLUMNS = [
  "pid",
  "family",
  "protocol",
  "local_address",
  "local_port",
  "remote_address",
  "remote_port",
  "state",
  "path",
  "name",
  "username",
  "parent_name",
  "parent_path",
  "sha256",
] as const;

/** Address families of connected internet sockets: AF_INET, and AF_INET6 on Linux, Windows, macOS. */
const INET_FAMILIES = new Set([2, 10, 23, 30]);

/**
 * osquery's results log (the filesystem logger's `osqueryd.results.log`,
 * https://osquery.readthedocs.io/en/stable/deployment/logging/) of the
 * query pack netanomaly ships, `sources/osquery/netanomaly-pack.conf`
 * (`process_open_sockets` joined with `processes` twice, `users` and
 * `hash`). Every line is one JSON object:
 * - differential (the default): `{"name", "hostIdentifier", "calendarTime",
 *   "unixTime", "epoch", "counter", "columns": {…}, "action": "added"}`;
 *   an `added` row is a socket newly open since the last run, a connection;
 *   `removed` rows (closed sockets) are passed over, counted;
 * - batched (`--logger_event_type=false`): `"diffResults": {"added": […],
 *   "removed": […]}`;
 * - snapshot (`"snapshot": true` in the pack): `{"snapshot": [{…}, …],
 *   "action": "snapshot"}`, every open socket at each run, each one read
 *   as a connection.
 *
 * Column values are strings unless osqueryd runs with
 * `--log_numerics_as_numbers`; both read.
 *
 * | osquery column | telemetry |
 * |---|---|
 * | `unixTime` (else `calendarTime`) | timestamp (when the query ran, not when the socket opened) |
 * | `hostIdentifier`:`pid` | the record key labels files name |
 * | `path` | process_path |
 * | `sha256` | process_hash |
 * | `parent_name` | parent_process |
 * | `username` | user_context |
 * | `local_address` / `remote_address` | source_ip / dest_ip |
 * | `remote_port` | dest_port (0 for ICMP sockets) |
 * | `protocol` (6, 17, 1, 58) | protocol (`TCP`, `UDP`, `ICMP`) |
 * | — | bytes_sent, bytes_recv, dest_domain, dns_query: osquery has none; 0 and empty |
 *
 * Rows of other queries (no `remote_address` column) and sockets that are
 * not connected internet sockets (a Unix socket, a listener) are passed
 * over, counted.
 */
export const osquerySource: Source = {
  name: "osquery",
  description: "osquery results log of sources/osquery/netanomaly-pack.conf (--input FILE)",
  kind: "file",
  fields: [
    "timestamp",
    "process_path",
    "process_hash",
    "source_ip",
    "dest_ip",
    "dest_port",
    "protocol",
    "parent_process",
    "user_context",
  ],
  open(options, ctx) {
    const input = options.input;
    if (input === undefined)
      throw new Error("--source osquery needs --input FILE (or - for stdin)");
    return { [Symbol.asyncIterator]: () => readResults(input, options, ctx) };
  },
};

async function* readResults(
  input: string,
  options: SourceOptions,
  ctx: SourceContext,
): AsyncGenerator<SourceEvent> {
  const where = input === "-" ? "stdin" : input;
  const guard = new FormatGuard("osquery", where, ctx);
  const counts = { added: 0, removed: 0, otherQuery: 0, notConnected: 0 };
  const otherQueries = new Set<string>();
  for await (const { text, line } of readLines(input, options, ctx)) {
    if (ctx.signal.aborted) return;
    if (text.trim() === "") continue;
    let obj: Record<string, unknown>;
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        guard.bad(line, text, "not a JSON object");
        continue;
      }
      obj = v as Record<string, unknown>;
    } catch (e) {
      guard.bad(line, text, `not JSON (${(e as Error).message.slice(0, 80)})`);
      continue;
    }
    const rows = rowsOf(obj);
    if (typeof rows === "string") {
      guard.bad(line, text, rows);
      continue;
    }
    guard.good();
    const timeMs = parseLogTime(obj.unixTime) ?? parseLogTime(obj.calendarTime);
    const host = typeof obj.hostIdentifier === "string" ? obj.hostIdentifier : "";
    counts.removed += rows.removed;
    for (const row of rows.rows) {
      if (!("remote_address" in row)) {
        counts.otherQuery++;
        otherQueries.add(String(obj.name ?? "?"));
        continue;
      }
      const ev = connectionOf(row, timeMs);
      if (ev === undefined) {
        counts.notConnected++;
        continue;
      }
      if (typeof ev === "string") {
        ctx.onSkip({ where: `${where}:${line}`, message: ev });
        continue;
      }
      counts.added++;
      yield { event: ev, label: undefined, key: `${host}:${String(row.pid ?? "")}` };
    }
  }
  guard.end();
  if (counts.removed > 0)
    ctx.onNotice(`${where}: passed over ${counts.removed} "removed" row(s) (sockets closed)`);
  if (counts.otherQuery > 0)
    ctx.onNotice(
      `${where}: passed over ${counts.otherQuery} row(s) of other queries (${[...otherQueries].join(", ")}); ` +
        "the reader wants netanomaly-pack.conf's columns",
    );
  if (counts.notConnected > 0)
    ctx.onNotice(
      `${where}: passed over ${counts.notConnected} socket(s) not connected to an internet peer`,
    );
}

/** The rows a results line carries as connections, and how many it removes. */
function rowsOf(
  obj: Record<string, unknown>,
): { rows: Record<string, unknown>[]; removed: number } | string {
  const action = obj.action;
  if (Array.isArray(obj.snapshot)) return { rows: objects(obj.snapshot), removed: 0 };
  if (typeof obj.columns === "object" && obj.columns !== null) {
    if (action === "added" || action === "snapshot")
      return { rows: [obj.columns as Record<string, unknown>], removed: 0 };
    if (action === "removed") return { rows: [], removed: 1 };
    return `action ${JSON.stringify(action)} is not added, removed or snapshot`;
  }
  if (typeof obj.diffResults === "object" && obj.diffResults !== null) {
    const d = obj.diffResults as Record<string, unknown>;
    return {
      rows: Array.isArray(d.added) ? objects(d.added) : [],
      removed: Array.isArray(d.removed) ? d.removed.length : 0,
    };
  }
  return "no columns, snapshot or diffResults: not an osquery result";
}

function objects(list: unknown[]): Record<string, unknown>[] {
  return list.filter((r): r is Record<string, unknown> => typeof r === "object" && r !== null);
}

/** @returns the event, undefined for a socket that is no connection, or what is wrong. */
function connectionOf(
  row: Record<string, unknown>,
  timeMs: number | undefined,
): ReturnType<typeof logEvent> | undefined | string {
  const family = Number(row.family ?? 2);
  if (!INET_FAMILIES.has(family)) return undefined;
  const remote = plainAddress(String(row.remote_address ?? ""));
  const local = plainAddress(String(row.local_address ?? ""));
  if (remote === "" || remote === "0.0.0.0" || remote === "::") return undefined;
  if (isIP(remote) === 0) return `remote_address ${JSON.stringify(remote)} is not an address`;
  if (local !== "" && isIP(local) === 0)
    return `local_address ${JSON.stringify(local)} is not an address`;
  const protocol = transportName(Number(row.protocol));
  let destPort = parseCount(row.remote_port);
  if (destPort === undefined || destPort > 65535)
    return `remote_port ${JSON.stringify(row.remote_port)} is not a port`;
  if (protocol === "ICMP") destPort = 0;
  else if (destPort === 0) return undefined;
  const text = (v: unknown) =>
    typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
  return logEvent({
    timeMs,
    processPath: text(row.path),
    processHash: text(row.sha256),
    parentProcess: text(row.parent_name),
    userContext: text(row.username),
    sourceIp: local,
    destIp: remote,
    destPort,
    protocol,
  });
}
