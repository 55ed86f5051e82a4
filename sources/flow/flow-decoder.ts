import type { SourceProblem } from "../source.js";
import { FlowDecodeError } from "./byte-reader.js";
import {
  absoluteMs,
  decodeDataRecord,
  emptyValues,
  type RecordValues,
  type TimeBase,
} from "./data-record.js";
import { type FlowRecord, whereOf } from "./flow-record.js";
import {
  ipfixSets,
  OPTIONS_TEMPLATE_SET_ID,
  parseIpfixTemplates,
  readIpfixHeader,
  TEMPLATE_SET_ID,
} from "./ipfix.js";
import { decodeNetflowV5 } from "./netflow-v5.js";
import {
  type ParsedTemplates,
  parseV9OptionsTemplates,
  parseV9Templates,
  readV9Header,
  V9_HEADER_BYTES,
  v9FlowSets,
} from "./netflow-v9.js";
import { SequenceTracker } from "./sequence.js";
import {
  type HeldSet,
  type Template,
  TemplateCache,
  type TemplateCacheOptions,
  type TemplateScope,
} from "./templates.js";

/** Counters of everything the decoder saw; all only grow. */
export interface FlowDecoderStats {
  packets: number;
  /** Flow records decoded (options records not included). */
  records: number;
  /** Packets or sets that could not be read, in whole or in part. */
  malformed: number;
  templates: number;
  templatesChanged: number;
  templatesWithdrawn: number;
  /** Data sets whose template was unknown when they arrived (held or not). */
  unknownTemplateSets: number;
  /** Of those, sets decoded later when their template came. */
  heldSetsDecoded: number;
  /** Of those, sets dropped because their template never came in time. */
  heldSetsDropped: number;
  /** Options data records read (and used for the exporter's boot time, nothing else). */
  optionsRecords: number;
  sequenceGaps: number;
}

/** Who sent a set: exporter `ip:port`, its domain, and where boot times are kept for it. */
interface SetOrigin {
  exporter: string;
  domain: number;
  where: string;
  /** Key of the IPFIX boot time (IE 160) of this exporter and domain; undefined for v9. */
  initKey: string | undefined;
}

interface Held {
  origin: SetOrigin;
  body: DataView;
  base: TimeBase;
}

/** Exporters and domains whose boot time is remembered. */
const MAX_BOOT_TIMES = 4096;

/**
 * Decodes NetFlow v5, NetFlow v9 and IPFIX datagrams into flow records,
 * keeping each exporter's templates, boot time and sequence numbers. Every
 * problem goes to `onProblem` once, naming the exporter, the domain and the
 * field; the records around it still come out.
 */
export class FlowDecoder {
  readonly stats: FlowDecoderStats = {
    packets: 0,
    records: 0,
    malformed: 0,
    templates: 0,
    templatesChanged: 0,
    templatesWithdrawn: 0,
    unknownTemplateSets: 0,
    heldSetsDecoded: 0,
    heldSetsDropped: 0,
    optionsRecords: 0,
    sequenceGaps: 0,
  };
  readonly #templates: TemplateCache<Held>;
  readonly #sequences = new SequenceTracker();
  /** IPFIX boot time per exporter and domain, from options records (IE 160). */
  readonly #systemInit = new Map<string, number>();
  readonly #onProblem: (problem: SourceProblem) => void;
  readonly #values: RecordValues = emptyValues();

  constructor(onProblem: (problem: SourceProblem) => void, options: TemplateCacheOptions = {}) {
    this.#onProblem = onProblem;
    this.#templates = new TemplateCache<Held>(options);
  }

  /** Templates known now, across exporters. */
  get templateCount(): number {
    return this.#templates.size;
  }

  /**
   * Decodes one datagram.
   * @param ip exporter address; `port` its UDP port (sequence numbers are per transport session).
   * @param nowMs the collector's clock, for template expiry and held data.
   */
  decode(packet: Uint8Array, ip: string, port: number, nowMs: number): FlowRecord[] {
    this.stats.packets++;
    const exporter = `${ip}:${port}`;
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const out: FlowRecord[] = [];
    if (packet.byteLength < 2) {
      this.#malformed(whereOf(exporter), `datagram of ${packet.byteLength} bytes has no version`);
      return out;
    }
    const version = view.getUint16(0);
    try {
      if (version === 5) this.#decodeV5(view, exporter, out);
      else if (version === 9) this.#decodeV9(view, ip, exporter, nowMs, out);
      else if (version === 10) this.#decodeIpfix(view, ip, exporter, nowMs, out);
      else
        this.#malformed(
          whereOf(exporter),
          `version ${version} at byte 0 is not NetFlow v5 (5), v9 (9) or IPFIX (10)`,
        );
    } catch (e) {
      if (!(e instanceof FlowDecodeError)) throw e;
      this.#malformed(whereOf(exporter, this.#lastDomain), e.message);
    }
    this.stats.records += out.length;
    return out;
  }

  /**
   * Gives up on held data sets whose template did not come in time (or all of
   * them when `all`), reporting each.
   */
  expire(nowMs: number, all = false): void {
    for (const h of this.#templates.expire(nowMs, all))
      this.#dropHeld(h, "no template arrived in time");
  }

  #lastDomain: number | undefined;

  #decodeV5(view: DataView, exporter: string, out: FlowRecord[]): void {
    this.#lastDomain = undefined;
    const packet = decodeNetflowV5(view, exporter);
    this.#lastDomain = packet.engine;
    if (packet.problem !== undefined)
      this.#malformed(whereOf(exporter, packet.engine), packet.problem);
    const where = whereOf(exporter, packet.engine);
    const key = `${exporter}|v5|${packet.engine}`;
    this.#sequence(key, where, packet.sequence, [packet.sequence + packet.count], "flows");
    out.push(...packet.records);
  }

  #decodeV9(view: DataView, ip: string, exporter: string, nowMs: number, out: FlowRecord[]) {
    this.#lastDomain = undefined;
    const header = readV9Header(view);
    const domain = header.sourceId;
    this.#lastDomain = domain;
    const where = whereOf(exporter, domain);
    const origin: SetOrigin = { exporter, domain, where, initKey: undefined };
    this.#sequence(
      `${exporter}|v9|${domain}`,
      where,
      header.sequence,
      [header.sequence + 1],
      "packets",
    );
    const scope: TemplateScope = { exporter: ip, domain, version: 9 };
    const base: TimeBase = {
      exportMs: header.exportMs,
      sysUptimeMs: header.sysUptimeMs,
      systemInitMs: undefined,
    };
    if (view.byteLength === V9_HEADER_BYTES && header.count > 0)
      this.#malformed(where, `v9 header announces ${header.count} records but no FlowSet follows`);
    for (const set of v9FlowSets(view)) {
      if (set.id === 0 || set.id === 1) {
        const parsed =
          set.id === 0
            ? parseV9Templates(view, set.start, set.end)
            : parseV9OptionsTemplates(view, set.start, set.end);
        this.#learn(scope, where, parsed, nowMs, out);
      } else if (set.id >= 256) {
        this.#dataSet(scope, origin, set.id, sliceOf(view, set.start, set.end), base, nowMs, out);
      } else {
        this.#malformed(
          where,
          `v9 FlowSet id ${set.id} at byte ${set.start - 4} is reserved (RFC 3954 §5.3)`,
        );
      }
    }
  }

  #decodeIpfix(view: DataView, ip: string, exporter: string, nowMs: number, out: FlowRecord[]) {
    this.#lastDomain = undefined;
    const header = readIpfixHeader(view);
    const domain = header.observationDomain;
    this.#lastDomain = domain;
    const where = whereOf(exporter, domain);
    if (header.length < view.byteLength)
      this.#malformed(
        where,
        `IPFIX message length ${header.length} is shorter than the datagram's ${view.byteLength} bytes; the rest is ignored`,
      );
    const scope: TemplateScope = { exporter: ip, domain, version: 10 };
    const initKey = `${ip}|${domain}`;
    const origin: SetOrigin = { exporter, domain, where, initKey };
    const first = out.length;
    let dataRecords = 0;
    const base: TimeBase = {
      exportMs: header.exportMs,
      sysUptimeMs: undefined,
      systemInitMs: this.#systemInit.get(initKey),
    };
    try {
      for (const set of ipfixSets(view, header.length)) {
        if (set.id === TEMPLATE_SET_ID || set.id === OPTIONS_TEMPLATE_SET_ID) {
          const parsed = parseIpfixTemplates(view, set.start, set.end, set.id);
          if (parsed.withdrawAll)
            this.stats.templatesWithdrawn += this.#templates.withdrawAll(scope);
          for (const id of parsed.withdrawn)
            if (this.#templates.withdraw(scope, id)) this.stats.templatesWithdrawn++;
          this.#learn(scope, where, parsed, nowMs, out);
        } else if (set.id >= 256) {
          const body = sliceOf(view, set.start, set.end);
          dataRecords += this.#dataSet(scope, origin, set.id, body, base, nowMs, out);
        } else {
          this.#malformed(
            where,
            `IPFIX set id ${set.id} at byte ${set.start - 4} is reserved (RFC 7011 §3.3.2)`,
          );
        }
      }
    } finally {
      const flows = out.length - first;
      this.#sequence(
        `${exporter}|v10|${domain}`,
        where,
        header.sequence,
        [header.sequence + dataRecords, header.sequence + flows],
        "records",
        (previous) => [previous + dataRecords, previous + flows],
      );
    }
  }

  /** Stores templates, reports their problems, and decodes data that was waiting for them. */
  #learn(
    scope: TemplateScope,
    where: string,
    parsed: ParsedTemplates,
    nowMs: number,
    out: FlowRecord[],
  ) {
    for (const problem of parsed.problems) this.#malformed(where, problem);
    for (const template of parsed.templates) {
      const change = this.#templates.set(scope, template, nowMs);
      if (change !== "refreshed") this.stats.templates++;
      if (change === "changed") this.stats.templatesChanged++;
      for (const h of this.#templates.release(scope, template.id)) {
        this.stats.heldSetsDecoded++;
        this.#decodeRecords(h.item.origin, template, h.item.body, h.item.base, out);
      }
    }
  }

  /** @returns data records in the set (flow and options). */
  #dataSet(
    scope: TemplateScope,
    origin: SetOrigin,
    setId: number,
    body: DataView,
    base: TimeBase,
    nowMs: number,
    out: FlowRecord[],
  ): number {
    const template = this.#templates.get(scope, setId, nowMs);
    if (template === undefined) {
      this.stats.unknownTemplateSets++;
      // Copied: the datagram's buffer is not ours to keep.
      const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice();
      const held: Held = { origin, body: new DataView(bytes.buffer), base: { ...base } };
      for (const h of this.#templates.hold(scope, setId, held, nowMs))
        this.#dropHeld(h, "too many data sets waiting for templates");
      return 0;
    }
    return this.#decodeRecords(origin, template, body, base, out);
  }

  /**
   * Decodes the records of one data set; fewer bytes left than the shortest
   * record are padding (RFC 7011 §3.3.1). Options records (and records with
   * no addresses) give no flow; one carrying the exporter's boot time
   * (IE 160) dates the sysUpTime fields of later IPFIX records.
   * @returns the data records read.
   */
  #decodeRecords(
    origin: SetOrigin,
    template: Template,
    body: DataView,
    base: TimeBase,
    out: FlowRecord[],
  ): number {
    const v = this.#values;
    let p = 0;
    let n = 0;
    const end = body.byteLength;
    while (p + template.minLength <= end) {
      resetValues(v);
      const length = decodeDataRecord(body, p, end, template, v);
      if (length < 0) {
        this.#malformed(
          origin.where,
          `data set ${template.id}: record ${n + 1} at set byte ${p} runs past the set's ${end} bytes (a variable-length field is too long)`,
        );
        break;
      }
      p += length;
      n++;
      if (template.scopeCount > 0 || v.sourceIp === undefined || v.destIp === undefined) {
        if (v.systemInitMs !== undefined && origin.initKey !== undefined) {
          this.#rememberBoot(origin.initKey, v.systemInitMs);
          base.systemInitMs = v.systemInitMs;
        }
        this.stats.optionsRecords++;
        continue;
      }
      const record = toFlow(v, base, origin.exporter, origin.domain);
      if (record !== undefined) out.push(record);
    }
    return n;
  }

  #rememberBoot(key: string, ms: number): void {
    this.#systemInit.delete(key);
    this.#systemInit.set(key, ms);
    if (this.#systemInit.size > MAX_BOOT_TIMES)
      this.#systemInit.delete(this.#systemInit.keys().next().value as string);
  }

  #dropHeld(h: HeldSet<Held>, why: string): void {
    this.stats.heldSetsDropped++;
    this.#onProblem({
      where: h.item.origin.where,
      message: `data set for unknown template ${h.templateId} (${h.item.body.byteLength} bytes) dropped: ${why}`,
    });
  }

  #sequence(
    key: string,
    where: string,
    seq: number,
    next: number[],
    unit: string,
    alsoNow?: (previous: number) => number[],
  ): void {
    const gap = this.#sequences.observe(key, seq, next, alsoNow);
    if (gap === undefined) return;
    this.stats.sequenceGaps++;
    this.#onProblem({
      where,
      message:
        gap.kind === "missing"
          ? `sequence gap: ${gap.distance} ${unit} missing (sequence ${gap.got}, expected ${gap.expected})`
          : `sequence went back by ${gap.distance} ${unit} (sequence ${gap.got}, expected ${gap.expected}): reordered, duplicated, or the exporter restarted`,
    });
  }

  #malformed(where: string, message: string): void {
    this.stats.malformed++;
    this.#onProblem({ where, message });
  }
}

function sliceOf(view: DataView, start: number, end: number): DataView {
  return new DataView(view.buffer, view.byteOffset + start, end - start);
}

function resetValues(v: RecordValues): void {
  v.protocol = undefined;
  v.sourceIp = undefined;
  v.destIp = undefined;
  v.sourcePort = 0;
  v.destPort = 0;
  v.icmpTypeCode = undefined;
  v.bytes = undefined;
  v.totalBytes = undefined;
  v.reverseBytes = undefined;
  v.initiatorBytes = undefined;
  v.responderBytes = undefined;
  v.startMs = undefined;
  v.endMs = undefined;
  v.startUptime = undefined;
  v.endUptime = undefined;
  v.systemInitMs = undefined;
}

/** A flow record from a data record's values; times fall back to the export time. */
function toFlow(
  v: RecordValues,
  base: TimeBase,
  exporter: string,
  domain: number,
): FlowRecord | undefined {
  if (v.sourceIp === undefined || v.destIp === undefined) return undefined;
  const init = v.systemInitMs !== undefined ? { ...base, systemInitMs: v.systemInitMs } : base;
  const startMs =
    v.startMs ??
    (v.startUptime !== undefined ? absoluteMs(v.startUptime, init) : undefined) ??
    base.exportMs;
  const endMs =
    v.endMs ?? (v.endUptime !== undefined ? absoluteMs(v.endUptime, init) : undefined) ?? startMs;
  const nsel = v.bytes === undefined && v.initiatorBytes !== undefined;
  const isIcmp = v.protocol === 1 || v.protocol === 58;
  return {
    exporter,
    domain,
    protocol: v.protocol ?? 0,
    sourceIp: v.sourceIp,
    destIp: v.destIp,
    sourcePort: isIcmp ? 0 : v.sourcePort,
    destPort: isIcmp ? 0 : v.destPort,
    icmpTypeCode: isIcmp
      ? (v.icmpTypeCode ?? (v.destPort !== 0 ? v.destPort : undefined))
      : undefined,
    bytes: (nsel ? v.initiatorBytes : (v.bytes ?? v.totalBytes)) ?? 0n,
    reverseBytes: nsel ? (v.responderBytes ?? 0n) : v.reverseBytes,
    startMs,
    endMs,
  };
}
