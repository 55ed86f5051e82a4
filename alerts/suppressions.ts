import { BlockList, isIP } from "node:net";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/**
 * Suppression rules: one JSON object per line of a file (blank lines and
 * lines starting with `#` are skipped), e.g.
 *
 * ```json
 * {"id":"backup-job","match":{"process_path":{"prefix":"/usr/bin/rsync"},"dest_ip":{"cidr":"10.0.0.0/8"},"dest_port":{"range":[873,873]}},"expires":"2027-01-01T00:00:00Z","reason":"nightly backup"}
 * ```
 *
 * `match` names event fields by their telemetry column names; every field
 * given must match (AND). A string is an exact match; `{"exact": v}`,
 * `{"prefix": "…"}`, `{"suffix": "…"}` (a domain) for text fields, `{"cidr": "a.b.c.d/n"}` for
 * `source_ip`/`dest_ip`, `{"range": [lo, hi]}` (inclusive) for `dest_port`,
 * `bytes_sent`, `bytes_recv`. `reason` is required; `expires` (ISO 8601) is
 * optional, and an expired rule matches nothing. `id` defaults to
 * `FILE:LINE`.
 */

/** A rule as read from one line. */
export interface SuppressionRule {
  id: string;
  reason: string;
  /** Expiry in ms since the epoch, or undefined for never. */
  expiresMs: number | undefined;
  /** Where it was read, `file:line`. */
  where: string;
  /** True when the event matches every condition. */
  test(event: NetworkEvent): boolean;
}

/** A line that could not be read as a rule. */
export interface RuleProblem {
  /** `file:line`. */
  where: string;
  /** What is wrong, naming the field. */
  message: string;
}

const TEXT_FIELDS = {
  process_path: "processPath",
  process_hash: "processHash",
  source_ip: "sourceIp",
  dest_ip: "destIp",
  dest_domain: "destDomain",
  protocol: "protocol",
  dns_query: "dnsQuery",
  parent_process: "parentProcess",
  user_context: "userContext",
} as const;
const NUMBER_FIELDS = {
  dest_port: "destPort",
  bytes_sent: "bytesSent",
  bytes_recv: "bytesRecv",
} as const;
const IP_FIELDS = new Set(["source_ip", "dest_ip"]);

/** Event fields a rule may match on. */
export const MATCH_FIELDS = [...Object.keys(TEXT_FIELDS), ...Object.keys(NUMBER_FIELDS)];

type Test = (event: NetworkEvent) => boolean;

class RuleError extends Error {}

/**
 * Parses the text of a suppression file.
 *
 * @param file name used in `where` (`file:line`).
 * @returns the rules, and a problem for each bad line (the other lines still count).
 */
export function parseSuppressions(
  text: string,
  file: string,
): { rules: SuppressionRule[]; problems: RuleProblem[] } {
  const rules: SuppressionRule[] = [];
  const problems: RuleProblem[] = [];
  const ids = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "" || line.startsWith("#")) {
      continue;
    }
    const where = `${file}:${i + 1}`;
    try {
      const rule = parseRule(line, where);
      if (ids.has(rule.id)) {
        throw new RuleError(`id: ${JSON.stringify(rule.id)} is used by an earlier rule`);
      }
      ids.add(rule.id);
      rules.push(rule);
    } catch (e) {
      if (!(e instanceof RuleError)) {
        throw e;
      }
      problems.push({ where, message: e.message });
    }
  }
  return { rules, problems };
}

function parseRule(line: string, where: string): SuppressionRule {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    throw new RuleError(`not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new RuleError("a rule must be a JSON object");
  }
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!["id", "match", "reason", "expires", "created", "alertId"].includes(key)) {
      throw new RuleError(`${key}: unknown key (id, match, reason, expires, created, alertId)`);
    }
  }
  if (typeof r.reason !== "string" || r.reason.trim() === "") {
    throw new RuleError("reason: a non-empty string is required");
  }
  if (r.id !== undefined && (typeof r.id !== "string" || r.id === "")) {
    throw new RuleError("id: must be a non-empty string");
  }
  let expiresMs: number | undefined;
  if (r.expires !== undefined) {
    expiresMs = typeof r.expires === "string" ? Date.parse(r.expires) : Number.NaN;
    if (Number.isNaN(expiresMs)) {
      throw new RuleError(`expires: ${JSON.stringify(r.expires)} is not an ISO 8601 time`);
    }
  }
  if (typeof r.match !== "object" || r.match === null || Array.isArray(r.match)) {
    throw new RuleError("match: an object of field conditions is required");
  }
  const tests: Test[] = [];
  for (const [field, cond] of Object.entries(r.match as Record<string, unknown>)) {
    tests.push(conditionOf(field, cond));
  }
  if (tests.length === 0) {
    throw new RuleError(
      "match: at least one field is required (an empty match would silence everything)",
    );
  }
  return {
    id: (r.id as string | undefined) ?? where,
    reason: r.reason,
    expiresMs,
    where,
    test: (event) => tests.every((t) => t(event)),
  };
}

function conditionOf(field: string, cond: unknown): Test {
  const at = `match.${field}`;
  const text = (TEXT_FIELDS as Record<string, keyof NetworkEvent>)[field];
  const num = (NUMBER_FIELDS as Record<string, keyof NetworkEvent>)[field];
  if (text === undefined && num === undefined) {
    throw new RuleError(`${at}: unknown field (one of ${MATCH_FIELDS.join(", ")})`);
  }
  const spec: Record<string, unknown> =
    typeof cond === "object" && cond !== null && !Array.isArray(cond)
      ? (cond as Record<string, unknown>)
      : { exact: cond };
  const kinds = Object.keys(spec);
  if (kinds.length !== 1) {
    throw new RuleError(`${at}: give exactly one of exact, prefix, suffix, cidr, range`);
  }
  const kind = kinds[0] as string;
  const value = spec[kind];
  if (text !== undefined) {
    const get = (e: NetworkEvent) => e[text] as string;
    if (kind === "exact" && typeof value === "string") {
      return (e) => get(e) === value;
    }
    if (kind === "prefix" && typeof value === "string" && value !== "") {
      return (e) => get(e).startsWith(value);
    }
    if (kind === "suffix" && typeof value === "string" && value !== "") {
      return (e) => get(e).endsWith(value);
    }
    if (kind === "cidr" && IP_FIELDS.has(field)) {
      const list = cidrList(value, at);
      return (e) => {
        const ip = get(e);
        const family = isIP(ip);
        return family !== 0 && list.check(ip, family === 4 ? "ipv4" : "ipv6");
      };
    }
    throw new RuleError(
      `${at}: ${kind} ${JSON.stringify(value)} does not apply (text fields take a string, {"exact"}, {"prefix"}, {"suffix"}${IP_FIELDS.has(field) ? ', {"cidr"}' : ""})`,
    );
  }
  const get = (e: NetworkEvent) => Number(e[num as keyof NetworkEvent]);
  if (kind === "exact" && typeof value === "number") {
    return (e) => get(e) === value;
  }
  if (
    kind === "range" &&
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((v) => typeof v === "number" && Number.isFinite(v)) &&
    (value[0] as number) <= (value[1] as number)
  ) {
    const [lo, hi] = value as [number, number];
    return (e) => {
      const v = get(e);
      return v >= lo && v <= hi;
    };
  }
  throw new RuleError(
    `${at}: ${kind} ${JSON.stringify(value)} does not apply (numeric fields take a number, {"exact": n}, {"range": [lo, hi]} with lo <= hi)`,
  );
}

function cidrList(value: unknown, at: string): BlockList {
  const m = typeof value === "string" ? /^([^/]+)\/(\d{1,3})$/.exec(value) : null;
  const family = m === null ? 0 : isIP(m[1] as string);
  const bits = Number(m?.[2]);
  if (m === null || family === 0 || bits > (family === 4 ? 32 : 128)) {
    throw new RuleError(`${at}: cidr ${JSON.stringify(value)} is not ADDRESS/PREFIX`);
  }
  const list = new BlockList();
  list.addSubnet(m[1] as string, bits, family === 4 ? "ipv4" : "ipv6");
  return list;
}

/** The first rule in force at `nowMs` that matches `event`, or undefined. */
export function findSuppression(
  rules: readonly SuppressionRule[],
  event: NetworkEvent,
  nowMs: number,
): SuppressionRule | undefined {
  for (const rule of rules) {
    if ((rule.expiresMs === undefined || rule.expiresMs > nowMs) && rule.test(event)) {
      return rule;
    }
  }
  return undefined;
}
