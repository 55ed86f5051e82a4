import type { SourceContext } from "./source.js";

/** A log format a line looks like, with the evidence in words. */
export interface SniffedFormat {
  /** The `--source` name that reads it. */
  source: string;
  /** What gave it away, for the error message. */
  evidence: string;
}

/**
 * Says which of the formats netanomaly reads a line looks like, from cheap
 * marks: Zeek's `#fields` header, Suricata's `event_type`, winlogbeat's
 * `winlog` or an XML `<Event>`, osquery's `hostIdentifier`, our own CSV
 * header or JSON lines.
 *
 * @returns the format, or undefined when the line looks like none of them.
 */
export function sniffLine(text: string): SniffedFormat | undefined {
  const t = text.trim();
  if (/^#(separator|set_separator|empty_field|unset_field|path|open|fields|types|close)\s/.test(t))
    return { source: "zeek", evidence: "a Zeek TSV log (#separator, #fields header)" };
  if (
    /<Event[\s>]/.test(t) ||
    /^<(\?xml|\/?Events?[\s>]|\/?EventData|\/?System>|Data\s+Name=)/.test(t)
  )
    return { source: "sysmon", evidence: "Windows event XML (<Event>)" };
  if (t.startsWith("{")) {
    let obj: Record<string, unknown>;
    try {
      const v = JSON.parse(t) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
      obj = v as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (typeof obj.event_type === "string")
      return { source: "suricata", evidence: `Suricata EVE JSON (event_type ${obj.event_type})` };
    if ("uid" in obj && ("id.orig_h" in obj || "id_orig_h" in obj || "id" in obj))
      return { source: "zeek", evidence: "Zeek JSON (uid, id.orig_h)" };
    if ("winlog" in obj) return { source: "sysmon", evidence: "winlogbeat JSON (winlog)" };
    if ("hostIdentifier" in obj || ("action" in obj && ("columns" in obj || "snapshot" in obj)))
      return { source: "osquery", evidence: "osquery results JSON (hostIdentifier, action)" };
    if ("sourceIp" in obj || "destIp" in obj || "event" in obj)
      return { source: "jsonl", evidence: "netanomaly JSON lines (sourceIp, destIp)" };
    return undefined;
  }
  if (/(^|,)\s*source_ip\s*(,|$)/.test(t) && /(^|,)\s*dest_ip\s*(,|$)/.test(t))
    return { source: "csv", evidence: "netanomaly's CSV header (source_ip, dest_ip)" };
  const cells = t.split("\t");
  if (cells.length >= 10 && /^\d{9,10}\.\d+$/.test(cells[0] as string))
    return { source: "zeek", evidence: "Zeek TSV rows (epoch time, tab-separated)" };
  return undefined;
}

/** Lines in a row, before the first good one, after which a reader names the format it sees. */
export const WRONG_FORMAT_LINES = 8;

/**
 * Watches a reader's first lines: each line it cannot use is skipped and
 * reported through `onSkip`; when the first `WRONG_FORMAT_LINES` non-empty
 * lines (or every line of a shorter input) are all unusable and look like
 * another format netanomaly reads, the reader throws one error that names
 * the file and that format (a Zeek file given to `--source suricata`).
 * Once a line has been good the guard stays quiet: later garbage is skipped
 * line by line.
 */
export class FormatGuard {
  readonly #source: string;
  readonly #where: string;
  readonly #ctx: Pick<SourceContext, "onSkip">;
  #settled = false;
  readonly #bad: string[] = [];

  /**
   * @param source the reader's `--source` name.
   * @param where the input's name for messages.
   */
  constructor(source: string, where: string, ctx: Pick<SourceContext, "onSkip">) {
    this.#source = source;
    this.#where = where;
    this.#ctx = ctx;
  }

  /** The reader understood a line. */
  good(): void {
    this.#settled = true;
  }

  /**
   * The reader could not use line `line`: reports it through `onSkip`.
   * @throws Error naming the file and the format the input looks like.
   */
  bad(line: number, text: string, message: string): void {
    this.#ctx.onSkip({ where: `${this.#where}:${line}`, message });
    if (this.#settled) return;
    this.#bad.push(text.slice(0, 4096));
    if (this.#bad.length >= WRONG_FORMAT_LINES) this.#judge();
  }

  /**
   * End of input: a short input with no good line that looks like another
   * format gets the same error.
   * @throws Error naming the file and the format the input looks like.
   */
  end(): void {
    if (!this.#settled && this.#bad.length > 0) this.#judge();
  }

  #judge(): void {
    const votes = new Map<string, { n: number; evidence: string }>();
    for (const text of this.#bad) {
      const s = sniffLine(text);
      if (s === undefined) continue;
      const v = votes.get(s.source) ?? { n: 0, evidence: s.evidence };
      v.n++;
      votes.set(s.source, v);
    }
    let best: [string, { n: number; evidence: string }] | undefined;
    for (const entry of votes) if (best === undefined || entry[1].n > best[1].n) best = entry;
    if (best !== undefined && best[0] !== this.#source && best[1].n * 2 >= this.#bad.length) {
      throw new Error(
        `${this.#where} looks like ${best[1].evidence}, not ${this.#source} input: ` +
          `its first ${this.#bad.length} line(s) could not be read; try --source ${best[0]}`,
      );
    }
    // Not another format we know: keep skipping line by line, stop judging.
    this.#settled = true;
  }
}
