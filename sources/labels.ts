import { labelOf } from "./jsonl.js";
import { readLines } from "./lines.js";
import type { SourceContext, SourceEvent } from "./source.js";

/**
 * Ground truth for a log that carries none, by record key: Zeek's `uid`,
 * Suricata's `flow_id`, Sysmon's `ProcessGuid`, osquery's
 * `hostIdentifier:pid` (each reader's `SourceEvent.key`).
 */
export interface LabelTable {
  /** Keys listed. */
  readonly size: number;
  /** The label of `key` (`normal`, an attack name, `attack`), or undefined when not listed. */
  get(key: string | undefined): string | undefined;
  /** Listed keys no event has asked for yet: a labels file for another capture shows here. */
  unmatched(): string[];
}

/**
 * Reads a labels file: one `key,label` a line, an optional header line
 * (`key,label`, or the reader's own key name: `uid,label`,
 * `flow_id,label`, `ProcessGuid,label`), `#` comments and blank lines
 * ignored; gzipped or not. A key may itself hold commas (the label is
 * after the last one). Labels read as the CSV's `label` column does:
 * `0`, `normal`, `benign`, `false` are `normal`; `1`, `true`, `attack`,
 * `malicious` are `attack`; any other word is the attack's name
 * (`c2_beacon`). A line without a key or label, or a key listed twice with
 * different labels (the first is kept), is reported through `onSkip`.
 *
 * @throws Error naming the file when it cannot be read.
 */
export async function readLabels(
  path: string,
  ctx: Pick<SourceContext, "onSkip" | "onNotice" | "signal">,
): Promise<LabelTable> {
  const labels = new Map<string, string>();
  const firstLine = new Map<string, number>();
  let first = true;
  for await (const { text, line, where } of readLines(path, {}, { ...ctx })) {
    const t = text.trim();
    if (t === "" || t.startsWith("#")) continue;
    const cut = t.lastIndexOf(",");
    const key = cut < 0 ? "" : t.slice(0, cut).trim();
    const raw = cut < 0 ? "" : t.slice(cut + 1).trim();
    if (first) {
      first = false;
      if (/^label$/i.test(raw) && /^(key|uid|flow_id|processguid|id)$/i.test(key)) continue;
    }
    if (key === "" || raw === "") {
      ctx.onSkip({ where: `${where}:${line}`, message: "not a key,label line" });
      continue;
    }
    const label = labelOf(undefined, raw) as string;
    const had = labels.get(key);
    if (had !== undefined) {
      if (had !== label)
        ctx.onSkip({
          where: `${where}:${line}`,
          message: `${key} is labelled ${had} on line ${firstLine.get(key)} and ${label} here; keeping ${had}`,
        });
      continue;
    }
    labels.set(key, label);
    firstLine.set(key, line);
  }
  const asked = new Set<string>();
  return {
    size: labels.size,
    get(key) {
      if (key === undefined) return undefined;
      const label = labels.get(key);
      if (label !== undefined) asked.add(key);
      return label;
    },
    unmatched() {
      return [...labels.keys()].filter((k) => !asked.has(k));
    },
  };
}

/** Options of `withLabels`. */
export interface WithLabelsOptions {
  /**
   * Label of events whose key the table does not list: `"normal"` when the
   * file lists only the attacks; undefined (the default) leaves them
   * unlabelled, as the reader gave them.
   */
  unlisted?: string;
}

/**
 * Labels a source's events from a table by their `key`. An event that
 * already has a label (from its own line) keeps it unless the table lists
 * its key.
 */
export async function* withLabels(
  events: AsyncIterable<SourceEvent>,
  table: LabelTable,
  options: WithLabelsOptions = {},
): AsyncGenerator<SourceEvent> {
  for await (const e of events) {
    const listed = table.get(e.key);
    yield listed !== undefined || e.label === undefined
      ? { ...e, label: listed ?? options.unlisted }
      : e;
  }
}
