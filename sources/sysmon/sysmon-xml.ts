import type { SysmonRecord } from "./sysmon-record.js";

/** Longest `<Event>` element read, in characters; a longer one is skipped. */
export const MAX_EVENT_CHARS = 256 * 1024;

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Decodes XML's five named entities and numeric character references. */
export function decodeXml(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e[0] !== "#") return ENTITIES[e] as string;
    const code = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : "\uFFFD";
  });
}

/**
 * Reads one `<Event>` element of the Windows event schema
 * (http://schemas.microsoft.com/win/2004/08/events/event, as `wevtutil qe
 * /f:xml`, Get-WinEvent's `ToXml()` and Sysmon for Linux write it):
 * `System/Provider@Name`, `System/EventID`, `System/TimeCreated@SystemTime`,
 * and every `EventData/Data` by its `Name`.
 *
 * @returns the record, or a message saying what the element lacks.
 */
export function sysmonFromXml(xml: string): SysmonRecord | string {
  const id = /<EventID(?:\s[^>]*)?>\s*(\d+)\s*<\/EventID>/.exec(xml);
  if (!id) return "<Event> without <EventID>";
  const provider = /<Provider\s[^>]*?Name\s*=\s*(["'])(.*?)\1/.exec(xml)?.[2];
  const time = /<TimeCreated\s[^>]*?SystemTime\s*=\s*(["'])(.*?)\1/.exec(xml)?.[2];
  const data: Record<string, string> = {};
  const re = /<Data\s+Name\s*=\s*(["'])(.*?)\1\s*(?:\/>|>([\s\S]*?)<\/Data>)/g;
  for (let m = re.exec(xml); m !== null; m = re.exec(xml))
    data[m[2] as string] = decodeXml(m[3] ?? "");
  return { eventId: Number(id[1]), provider, data, time };
}

/** A complete `<Event>` element and the line it started on. */
export interface XmlEvent {
  xml: string;
  line: number;
}

/**
 * Cuts Windows event XML into `<Event>` elements, whatever the line
 * breaks: one event per line, an event over many lines (pretty-printed),
 * several on one line, or a whole `<Events>` export. Text outside events
 * other than the XML declaration and the `<Events>` wrapper is reported
 * by `push` as stray.
 */
export class XmlEventSplitter {
  #buf = "";
  #start = 0;
  #open = false;

  /** True while an `<Event>` has begun and not ended. */
  get open(): boolean {
    return this.#open;
  }

  /** Line the open `<Event>` began on. */
  get startLine(): number {
    return this.#start;
  }

  /**
   * Feeds one line.
   * @returns the events it completed, and a message when the line held
   *   stray text or an event grew past `MAX_EVENT_CHARS`.
   */
  push(text: string, line: number): { events: XmlEvent[]; problem?: string } {
    const events: XmlEvent[] = [];
    let problem: string | undefined;
    let rest = text;
    for (;;) {
      if (!this.#open) {
        const m = /<Event[\s>]/.exec(rest);
        const before = m ? rest.slice(0, m.index) : rest;
        if (!isWrapper(before)) problem ??= "text outside an <Event> element";
        if (!m) break;
        this.#open = true;
        this.#start = line;
        this.#buf = "";
        rest = rest.slice(m.index);
      }
      const end = rest.indexOf("</Event>");
      if (end < 0) {
        this.#buf += `${rest}\n`;
        if (this.#buf.length > MAX_EVENT_CHARS) {
          problem = `<Event> from line ${this.#start} runs past ${MAX_EVENT_CHARS} characters; skipped`;
          this.#open = false;
          this.#buf = "";
        }
        break;
      }
      events.push({ xml: this.#buf + rest.slice(0, end + 8), line: this.#start });
      this.#open = false;
      this.#buf = "";
      rest = rest.slice(end + 8);
    }
    return { events, problem };
  }
}

function isWrapper(text: string): boolean {
  const t = text
    .replace(/<\?xml[^>]*\?>/g, "")
    .replace(/<\/?Events(\s[^>]*)?>/g, "")
    .trim();
  return t === "";
}
