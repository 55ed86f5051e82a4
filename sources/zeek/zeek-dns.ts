import { isIP } from "node:net";
import { BoundedMap } from "../bounded-map.js";
import { readLines } from "../lines.js";
import { parseLogTime, plainAddress } from "../log-event.js";
import type { SourceContext } from "../source.js";
import { DNS_FIELDS } from "./zeek-fields.js";
import { ZeekLogParser } from "./zeek-log.js";

/** Uids remembered with their query: a conn whose dns.log line was evicted goes without. */
export const DNS_UID_CAPACITY = 200_000;
/** Answered addresses remembered with the name they answered. */
export const DNS_ADDRESS_CAPACITY = 100_000;
/**
 * How far dns.log is read ahead of the conn being joined, in ms of `ts`.
 * conn.log is written when a connection ends and stamped with its first
 * packet, dns.log when the reply comes: a DNS conn's dns.log line has a
 * `ts` at or just after the conn's. One minute covers slow resolvers.
 */
export const DNS_LOOKAHEAD_MS = 60_000;

interface DnsAnswer {
  timeMs: number;
  query: string;
  addresses: string[];
}

/**
 * Zeek's dns.log read beside conn.log (`--dns FILE`), joined by `uid`: a DNS
 * conn gets its `query`; the `answers` that are addresses name those
 * addresses for the conns that follow (`dest_domain`). dns.log is read
 * ahead of conn.log by `ts` only as far as the conn being joined needs,
 * and an answer names an address only from its own `ts` on, so a conn is
 * never named by a lookup made after it started. Memory is bounded by the
 * capacities above.
 *
 * Fields (base/protocols/dns/main.zeek, `DNS::Info`): `ts`, `uid`,
 * `query`, `answers` (a vector of strings: addresses and names mixed,
 * CNAME targets included).
 */
export class ZeekDnsJoin {
  readonly #iterator: AsyncIterator<{ text: string; line: number; where: string }>;
  readonly #parser: ZeekLogParser;
  readonly #ctx: SourceContext;
  readonly #queries = new BoundedMap<string, string>(DNS_UID_CAPACITY);
  readonly #names = new BoundedMap<string, string>(DNS_ADDRESS_CAPACITY);
  #pending: DnsAnswer[] = [];
  #pendingHead = 0;
  #readToMs = Number.NEGATIVE_INFINITY;
  #done = false;
  /** dns.log records read. */
  records = 0;

  constructor(path: string, ctx: SourceContext) {
    this.#ctx = ctx;
    // dns.log is read to its end as it is now, even under --follow: the join
    // must not wait on a second file.
    this.#iterator = readLines(path, {}, ctx)[Symbol.asyncIterator]();
    this.#parser = new ZeekLogParser({
      defaultFields: DNS_FIELDS,
      onAssumed: (line) =>
        ctx.onNotice(
          `${path}:${line}: no #fields header; reading dns.log in the documented default column order`,
        ),
      onPath: (p, line) => {
        if (p !== "dns")
          throw new Error(`${path}:${line}: --dns wants Zeek's dns.log, this file is #path ${p}`);
      },
    });
  }

  /** Reads dns.log far enough to join a conn that started at `timeMs` (all of it when unknown). */
  async advanceTo(timeMs: number | undefined): Promise<void> {
    const until = timeMs === undefined ? Number.POSITIVE_INFINITY : timeMs + DNS_LOOKAHEAD_MS;
    while (!this.#done && this.#readToMs <= until) await this.#readOne();
    const now = timeMs ?? Number.POSITIVE_INFINITY;
    for (;;) {
      const a = this.#pending[this.#pendingHead];
      if (a === undefined || a.timeMs > now) break;
      this.#pendingHead++;
      for (const addr of a.addresses) this.#names.set(addr, a.query);
    }
    if (this.#pendingHead > 1024 && this.#pendingHead * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#pendingHead);
      this.#pendingHead = 0;
    }
  }

  /** The query of the DNS transaction on connection `uid`, if dns.log has one. */
  queryOf(uid: string): string | undefined {
    return this.#queries.get(uid);
  }

  /** The name an earlier answer gave `address`. */
  nameOf(address: string): string | undefined {
    return this.#names.get(address);
  }

  async #readOne(): Promise<void> {
    const next = await this.#iterator.next();
    if (next.done) {
      this.#done = true;
      return;
    }
    const { text, line, where } = next.value;
    const row = this.#parser.parse(text, line);
    if (row === null) return;
    if (typeof row === "string") {
      this.#ctx.onSkip({ where: `${where}:${line}`, message: row });
      return;
    }
    const timeMs = parseLogTime(row.value("ts"));
    const uid = row.text("uid");
    const query = row.text("query");
    if (timeMs === undefined || uid === undefined) {
      this.#ctx.onSkip({ where: `${where}:${line}`, message: "dns.log record without ts or uid" });
      return;
    }
    this.records++;
    if (timeMs > this.#readToMs) this.#readToMs = timeMs;
    if (query === undefined || query === "") return;
    if (!this.#queries.has(uid)) this.#queries.set(uid, query);
    const addresses = row
      .list("answers")
      .map(plainAddress)
      .filter((a) => isIP(a) !== 0);
    if (addresses.length === 0) return;
    // Out of order in the file: keep the queue sorted by ts (a short walk back).
    const answer = { timeMs, query, addresses };
    let i = this.#pending.length;
    while (i > this.#pendingHead && (this.#pending[i - 1] as DnsAnswer).timeMs > timeMs) i--;
    this.#pending.splice(i, 0, answer);
    if (this.#pending.length - this.#pendingHead > DNS_ADDRESS_CAPACITY) {
      const a = this.#pending[this.#pendingHead++] as DnsAnswer;
      for (const addr of a.addresses) this.#names.set(addr, a.query);
    }
  }
}
