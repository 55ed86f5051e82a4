import { isIP } from "node:net";
import { plainAddress } from "../log-event.js";

/** What one EVE `dns` event says: the name asked and the addresses answered. */
export interface EveDns {
  /** The query name (`rrname`); undefined when the event carries none. */
  query: string | undefined;
  /** A and AAAA answers' `rdata`, as plain addresses. */
  addresses: string[];
}

/**
 * Reads the `dns` object of an EVE event in each of the shapes Suricata
 * has written (https://docs.suricata.io/en/latest/output/eve/eve-json-format.html#event-type-dns):
 * - version 1: one event per query (`type: query`, `rrname`) and per
 *   answer record (`type: answer`, `rrname`, `rrtype`, `rdata`);
 * - version 2 (Suricata 5 to 7): `type: answer` with `rrname` and an
 *   `answers` array of `{rrname, rrtype, ttl, rdata}`, or `grouped`
 *   (`{"A": […], "AAAA": […]}`) when so configured;
 * - version 3 (Suricata 8): `type: request` / `response` with a `queries`
 *   array of `{rrname, rrtype}` and the same `answers` array.
 */
export function eveDns(dns: Record<string, unknown>): EveDns {
  let query = typeof dns.rrname === "string" ? dns.rrname : undefined;
  if (query === undefined && Array.isArray(dns.queries)) {
    const q = dns.queries[0] as Record<string, unknown> | undefined;
    if (q && typeof q.rrname === "string") query = q.rrname;
  }
  const addresses: string[] = [];
  const add = (rrtype: unknown, rdata: unknown) => {
    if ((rrtype === "A" || rrtype === "AAAA") && typeof rdata === "string") {
      const a = plainAddress(rdata);
      if (isIP(a) !== 0) addresses.push(a);
    }
  };
  if (Array.isArray(dns.answers)) {
    for (const a of dns.answers)
      if (typeof a === "object" && a !== null) {
        const r = a as Record<string, unknown>;
        add(r.rrtype, r.rdata);
      }
  } else if (typeof dns.grouped === "object" && dns.grouped !== null) {
    const g = dns.grouped as Record<string, unknown>;
    for (const t of ["A", "AAAA"])
      if (Array.isArray(g[t])) for (const rdata of g[t] as unknown[]) add(t, rdata);
  } else if (dns.type === "answer") {
    add(dns.rrtype, dns.rdata);
  }
  return { query, addresses };
}
