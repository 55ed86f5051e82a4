/**
 * One field specifier of a template (RFC 7011 §3.2, RFC 3954 §5.2): an
 * Information Element number, its length on the wire (65535: variable,
 * RFC 7011 §7) and its Private Enterprise Number (0 for IANA elements).
 */
export interface TemplateField {
  id: number;
  length: number;
  enterprise: number;
}

/** A template or options template as an exporter announced it. */
export interface Template {
  id: number;
  fields: readonly TemplateField[];
  /** Scope fields at the front of an options template (RFC 7011 §3.4.2.2); 0 for a template. */
  scopeCount: number;
  /** Bytes of the shortest record: variable-length fields count their one length byte. */
  minLength: number;
}

/** Builds a {@link Template}, computing its shortest record. */
export function makeTemplate(id: number, fields: TemplateField[], scopeCount = 0): Template {
  let minLength = 0;
  for (const f of fields) minLength += f.length === 65535 ? 1 : f.length;
  return { id, fields, scopeCount, minLength };
}

/** Who a template belongs to: templates are per exporter and observation domain (RFC 7011 §8). */
export interface TemplateScope {
  /** Exporter IP address (not port: an exporter that reopens its socket keeps its templates). */
  exporter: string;
  /** NetFlow v9 Source ID / IPFIX Observation Domain ID. */
  domain: number;
  /** 9 or 10: the same id means different things in NetFlow v9 and IPFIX. */
  version: number;
}

/** What {@link TemplateCache.set} did with a template. */
export type TemplateChange = "new" | "refreshed" | "changed";

/** A data set held back because its template had not arrived yet. */
export interface HeldSet<T> {
  scope: TemplateScope;
  templateId: number;
  heldAtMs: number;
  item: T;
}

/** Limits of a {@link TemplateCache}; every table in it is bounded. */
export interface TemplateCacheOptions {
  /** Templates kept across all exporters; the least recently announced goes first. Default 4096. */
  maxTemplates?: number;
  /**
   * A template not announced again for this long is forgotten (RFC 7011 §8.4:
   * over UDP templates expire unless refreshed). Default 30 min.
   */
  lifetimeMs?: number;
  /** How long a data set for an unknown template waits for it. Default 10 s. */
  holdMs?: number;
  /** Data sets held at once across all exporters. Default 256. */
  maxHeld?: number;
}

interface Entry {
  template: Template;
  seenMs: number;
}

/**
 * Templates per exporter and observation domain, with refresh, withdrawal,
 * expiry and a short, bounded wait for data that arrives before its template.
 */
export class TemplateCache<T> {
  readonly #templates = new Map<string, Entry>();
  #held: HeldSet<T>[] = [];
  readonly #maxTemplates: number;
  readonly #lifetimeMs: number;
  readonly #holdMs: number;
  readonly #maxHeld: number;

  constructor(options: TemplateCacheOptions = {}) {
    this.#maxTemplates = options.maxTemplates ?? 4096;
    this.#lifetimeMs = options.lifetimeMs ?? 30 * 60_000;
    this.#holdMs = options.holdMs ?? 10_000;
    this.#maxHeld = options.maxHeld ?? 256;
  }

  /** Templates known now. */
  get size(): number {
    return this.#templates.size;
  }

  /** Data sets waiting for their template now. */
  get heldCount(): number {
    return this.#held.length;
  }

  /**
   * Stores a template (a refresh when the same fields come again, a change when they differ).
   * The least recently announced template goes when the cache is full.
   * @returns what happened.
   */
  set(scope: TemplateScope, template: Template, nowMs: number): TemplateChange {
    const key = keyOf(scope, template.id);
    const old = this.#templates.get(key);
    this.#templates.delete(key);
    this.#templates.set(key, { template, seenMs: nowMs });
    if (this.#templates.size > this.#maxTemplates) {
      const oldest = this.#templates.keys().next().value as string;
      this.#templates.delete(oldest);
    }
    if (old === undefined) return "new";
    return sameFields(old.template, template) ? "refreshed" : "changed";
  }

  /** @returns the template, or undefined when unknown, withdrawn or expired. */
  get(scope: TemplateScope, id: number, nowMs: number): Template | undefined {
    const key = keyOf(scope, id);
    const entry = this.#templates.get(key);
    if (entry === undefined) return undefined;
    if (nowMs - entry.seenMs > this.#lifetimeMs) {
      this.#templates.delete(key);
      return undefined;
    }
    return entry.template;
  }

  /** RFC 7011 §8.1: a template record with no fields withdraws that template. */
  withdraw(scope: TemplateScope, id: number): boolean {
    return this.#templates.delete(keyOf(scope, id));
  }

  /**
   * RFC 7011 §8.1 "All Templates Withdrawal": every template of the scope goes.
   * @returns how many were withdrawn.
   */
  withdrawAll(scope: TemplateScope): number {
    const prefix = keyOf(scope, -1).replace(/-1$/, "");
    let n = 0;
    for (const key of [...this.#templates.keys()]) {
      if (key.startsWith(prefix)) {
        this.#templates.delete(key);
        n++;
      }
    }
    return n;
  }

  /**
   * Holds a data set until its template arrives or `holdMs` passes.
   * @returns sets pushed out because too many were held (oldest first): the caller reports them.
   */
  hold(scope: TemplateScope, templateId: number, item: T, nowMs: number): HeldSet<T>[] {
    this.#held.push({ scope, templateId, heldAtMs: nowMs, item });
    return this.#held.length > this.#maxHeld
      ? this.#held.splice(0, this.#held.length - this.#maxHeld)
      : [];
  }

  /** @returns the held sets of a template that just arrived, removing them. */
  release(scope: TemplateScope, templateId: number): HeldSet<T>[] {
    const key = keyOf(scope, templateId);
    const out: HeldSet<T>[] = [];
    this.#held = this.#held.filter((h) => {
      if (keyOf(h.scope, h.templateId) !== key) return true;
      out.push(h);
      return false;
    });
    return out;
  }

  /**
   * @param all give up on every held set (the collector is stopping).
   * @returns held sets whose wait is over, removing them: the caller reports them.
   */
  expire(nowMs: number, all = false): HeldSet<T>[] {
    if (this.#held.length === 0) return [];
    const out: HeldSet<T>[] = [];
    this.#held = this.#held.filter((h) => {
      if (!all && nowMs - h.heldAtMs < this.#holdMs) return true;
      out.push(h);
      return false;
    });
    return out;
  }
}

function keyOf(scope: TemplateScope, id: number): string {
  return `${scope.version}|${scope.exporter}|${scope.domain}|${id}`;
}

function sameFields(a: Template, b: Template): boolean {
  if (a.fields.length !== b.fields.length || a.scopeCount !== b.scopeCount) return false;
  return a.fields.every((f, i) => {
    const g = b.fields[i] as TemplateField;
    return f.id === g.id && f.length === g.length && f.enterprise === g.enterprise;
  });
}
