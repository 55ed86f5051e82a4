/**
 * Zeek's log files, TSV and JSON, as the logging framework writes them.
 *
 * TSV: https://docs.zeek.org/en/current/log-formats.html and the ASCII
 * writer (`LogAscii::separator`, `set_separator`, `empty_field`,
 * `unset_field`): a header of `#`-lines — `#separator \x09` (the separator,
 * hex-escaped; this one line is always space-separated), `#set_separator ,`,
 * `#empty_field (empty)`, `#unset_field -`, `#path conn`, `#open <time>`,
 * `#fields …`, `#types …` — then one record per line, and `#close <time>`
 * at the end. A field that was never set is written as the unset string
 * (`-`); an empty string or empty set as the empty string (`(empty)`).
 * Non-printable bytes and a separator inside a value are written as `\xHH`.
 * Concatenated or rotated files repeat the header mid-file; the newest
 * header applies to the lines after it.
 *
 * JSON (`LogAscii::use_json=T`): one object per line, keys the dotted field
 * names (`id.orig_h`), unset fields left out, `ts` in epoch seconds or ISO
 * 8601 (`LogAscii::json_timestamps`). Exports that rename the keys
 * (`id_orig_h`) or nest them (`"id": {"orig_h": …}`) read the same.
 */

/** One Zeek record: its fields by name, TSV or JSON alike. */
export interface ZeekRow {
  /** A field's value: a string (TSV, JSON string), number, boolean or array (JSON); undefined when unset. */
  value(name: string): unknown;
  /** A field as text: `""` for an empty field, undefined when unset. */
  text(name: string): string | undefined;
  /** A set or vector field as its elements; `[]` when empty or unset. */
  list(name: string): string[];
}

/** What the header in force says. */
interface TsvHeader {
  separator: string;
  setSeparator: string;
  emptyField: string;
  unsetField: string;
  path: string | undefined;
  fields: string[] | undefined;
  index: Map<string, number>;
  /** Line of the `#fields` line, for messages. */
  fieldsLine: number;
}

/** The result of one line: a record, nothing (a header or blank line), or what was wrong. */
export type ZeekParse = ZeekRow | null | string;

/** Options of `ZeekLogParser`. */
export interface ZeekLogParserOptions {
  /**
   * The field order Zeek's documentation gives for this log, used (and said
   * once through `onAssumed`) when TSV rows come without a `#fields` header
   * and have that many cells.
   */
  defaultFields: readonly string[];
  /** Called once when rows are read by `defaultFields` for want of a header. */
  onAssumed(line: number): void;
  /** Called on each `#path` line with the log's path (`conn`, `dns`). */
  onPath?(path: string, line: number): void;
}

function defaultHeader(): TsvHeader {
  return {
    separator: "\t",
    setSeparator: ",",
    emptyField: "(empty)",
    unsetField: "-",
    path: undefined,
    fields: undefined,
    index: new Map(),
    fieldsLine: 0,
  };
}

/** Decodes Zeek's `\xHH` escapes (the writer's escaping of separators and non-printables). */
export function unescapeZeek(text: string): string {
  if (!text.includes("\\x")) return text;
  return text.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) =>
    String.fromCharCode(parseInt(h, 16)),
  );
}

class TsvRow implements ZeekRow {
  constructor(
    readonly header: TsvHeader,
    readonly cells: string[],
    /** The line holds a `\x` escape somewhere: values need decoding. */
    readonly escaped: boolean,
  ) {}

  text(name: string): string | undefined {
    const i = this.header.index.get(name);
    if (i === undefined) return undefined;
    const v = this.cells[i];
    if (v === undefined || v === this.header.unsetField) return undefined;
    if (v === this.header.emptyField) return "";
    return this.escaped ? unescapeZeek(v) : v;
  }

  value(name: string): unknown {
    return this.text(name);
  }

  list(name: string): string[] {
    const i = this.header.index.get(name);
    if (i === undefined) return [];
    const v = this.cells[i];
    if (v === undefined || v === this.header.unsetField || v === this.header.emptyField) return [];
    const items = v.split(this.header.setSeparator);
    return this.escaped ? items.map(unescapeZeek) : items;
  }
}

class JsonRow implements ZeekRow {
  constructor(readonly obj: Record<string, unknown>) {}

  value(name: string): unknown {
    const o = this.obj;
    const direct = o[name];
    if (direct !== undefined && direct !== null) return direct;
    const dot = name.indexOf(".");
    if (dot < 0) return undefined;
    const flat = o[name.replace(/\./g, "_")];
    if (flat !== undefined && flat !== null) return flat;
    const outer = o[name.slice(0, dot)];
    if (typeof outer === "object" && outer !== null)
      return (outer as Record<string, unknown>)[name.slice(dot + 1)] ?? undefined;
    return undefined;
  }

  text(name: string): string | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return v.join(",");
    return String(v);
  }

  list(name: string): string[] {
    const v = this.value(name);
    if (v === undefined) return [];
    if (Array.isArray(v)) return v.map(String);
    const s = String(v);
    return s === "" ? [] : s.split(",");
  }
}

/**
 * Reads a Zeek log line by line, TSV or JSON, keeping the header in force.
 * Feed it every line in order; each call says what the line was.
 */
export class ZeekLogParser {
  #header: TsvHeader = defaultHeader();
  #assumed = false;
  readonly #options: ZeekLogParserOptions;

  constructor(options: ZeekLogParserOptions) {
    this.#options = options;
  }

  /** The `#path` of the header in force, if it had one. */
  get path(): string | undefined {
    return this.#header.path;
  }

  /**
   * @returns the record on this line, null for a header or blank line, or
   * a message saying why the line cannot be read.
   */
  parse(text: string, line: number): ZeekParse {
    if (text.length === 0) return null;
    const c = text.charCodeAt(0);
    if (c === 35 /* # */) return this.#headerLine(text, line);
    if (c === 123 /* { */) return parseJsonRow(text);
    const h = this.#header;
    const cells = text.split(h.separator);
    if (h.fields === undefined) {
      if (text.trim() === "") return null;
      if (cells.length !== this.#options.defaultFields.length && cells.length < 4)
        return "no #fields header before this line, and it is not a Zeek record";
      if (cells.length !== this.#options.defaultFields.length)
        return (
          `no #fields header before this line, and its ${cells.length} cells do not match ` +
          `the ${this.#options.defaultFields.length} default fields`
        );
      if (!this.#assumed) {
        this.#assumed = true;
        this.#options.onAssumed(line);
      }
      h.fields = [...this.#options.defaultFields];
      h.index = new Map(h.fields.map((f, i) => [f, i]));
    }
    if (cells.length !== h.fields.length)
      return `${cells.length} cells, the #fields header (line ${h.fieldsLine}) has ${h.fields.length}`;
    return new TsvRow(h, cells, text.includes("\\x"));
  }

  #headerLine(text: string, line: number): null | string {
    if (text.startsWith("#separator")) {
      // A new header block: rotation or concatenation. Start from the defaults.
      const value = text.slice("#separator".length).trim();
      this.#header = defaultHeader();
      const sep = unescapeZeek(value);
      if (sep.length === 0) return `#separator ${JSON.stringify(value)} is empty`;
      this.#header.separator = sep;
      return null;
    }
    const h = this.#header;
    const cut = text.indexOf(h.separator);
    const key = cut < 0 ? text : text.slice(0, cut);
    const rest = cut < 0 ? "" : text.slice(cut + h.separator.length);
    switch (key) {
      case "#set_separator":
        h.setSeparator = unescapeZeek(rest);
        return null;
      case "#empty_field":
        h.emptyField = unescapeZeek(rest);
        return null;
      case "#unset_field":
        h.unsetField = unescapeZeek(rest);
        return null;
      case "#path":
        h.path = rest;
        this.#options.onPath?.(rest, line);
        return null;
      case "#fields":
        h.fields = rest.split(h.separator);
        h.index = new Map(h.fields.map((f, i) => [f, i]));
        h.fieldsLine = line;
        return null;
      default:
        // #types, #open, #close and any comment: nothing the reader needs.
        return null;
    }
  }
}

function parseJsonRow(text: string): ZeekRow | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `not JSON (${(e as Error).message.slice(0, 80)})`;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object";
  return new JsonRow(v as Record<string, unknown>);
}
