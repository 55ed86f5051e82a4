import { FlowDecodeError, need } from "./byte-reader.js";
import { makeTemplate, type Template, type TemplateField } from "./templates.js";

/** Bytes of the NetFlow v9 packet header (RFC 3954 §5.1). */
export const V9_HEADER_BYTES = 20;

/** The NetFlow v9 packet header (RFC 3954 §5.1). */
export interface V9Header {
  /** Records (template and data) in the packet, as the exporter counted them. */
  count: number;
  sysUptimeMs: number;
  exportMs: number;
  /** Export packets the exporter sent before (RFC 3954 §5.1 "Sequence Number"). */
  sequence: number;
  sourceId: number;
}

/** @throws FlowDecodeError when the packet is shorter than the header. */
export function readV9Header(view: DataView): V9Header {
  need(view, 0, V9_HEADER_BYTES, "v9 header");
  return {
    count: view.getUint16(2),
    sysUptimeMs: view.getUint32(4),
    exportMs: view.getUint32(8) * 1000,
    sequence: view.getUint32(12),
    sourceId: view.getUint32(16),
  };
}

/** What a template or options template FlowSet announced. */
export interface ParsedTemplates {
  templates: Template[];
  /** What was wrong with records that could not be read (the rest of the set is dropped). */
  problems: string[];
}

/**
 * Reads a Template FlowSet (FlowSet ID 0, RFC 3954 §5.2): records of
 * `template_id(2) field_count(2)` then `field_count` pairs `type(2) length(2)`.
 * Template ids below 256 are invalid (§5.2); what follows a bad record is dropped.
 */
export function parseV9Templates(view: DataView, start: number, end: number): ParsedTemplates {
  const templates: Template[] = [];
  const problems: string[] = [];
  let p = start;
  while (p + 4 <= end) {
    const id = view.getUint16(p);
    const count = view.getUint16(p + 2);
    if (id < 256) {
      if (id === 0 && count === 0) break; // padding
      problems.push(`v9 template id ${id} at byte ${p} is below 256 (RFC 3954 §5.2)`);
      break;
    }
    if (count === 0 || p + 4 + count * 4 > end) {
      problems.push(
        `v9 template ${id} at byte ${p}: ${count} fields do not fit the FlowSet's ${end - p - 4} bytes`,
      );
      break;
    }
    const fields: TemplateField[] = [];
    for (let i = 0; i < count; i++) {
      const q = p + 4 + i * 4;
      fields.push({ id: view.getUint16(q), length: view.getUint16(q + 2), enterprise: 0 });
    }
    const template = makeTemplate(id, fields);
    if (template.minLength === 0) problems.push(`v9 template ${id} at byte ${p} has no bytes`);
    else templates.push(template);
    p += 4 + count * 4;
  }
  return { templates, problems };
}

/**
 * Reads an Options Template FlowSet (FlowSet ID 1, RFC 3954 §6.1): records of
 * `template_id(2) option_scope_length(2) option_length(2)`, then scope
 * fields and option fields as `type(2) length(2)`, the FlowSet padded to 4 bytes.
 */
export function parseV9OptionsTemplates(
  view: DataView,
  start: number,
  end: number,
): ParsedTemplates {
  const templates: Template[] = [];
  const problems: string[] = [];
  let p = start;
  while (p + 6 <= end) {
    const id = view.getUint16(p);
    const scopeBytes = view.getUint16(p + 2);
    const optionBytes = view.getUint16(p + 4);
    if (id < 256) {
      if (id !== 0) problems.push(`v9 options template id ${id} at byte ${p} is below 256`);
      break;
    }
    if (scopeBytes % 4 !== 0 || optionBytes % 4 !== 0 || p + 6 + scopeBytes + optionBytes > end) {
      problems.push(
        `v9 options template ${id} at byte ${p}: scope length ${scopeBytes} and option length ${optionBytes} do not fit the FlowSet`,
      );
      break;
    }
    const fields: TemplateField[] = [];
    for (let q = p + 6; q < p + 6 + scopeBytes + optionBytes; q += 4) {
      fields.push({ id: view.getUint16(q), length: view.getUint16(q + 2), enterprise: 0 });
    }
    const template = makeTemplate(id, fields, Math.max(1, scopeBytes / 4));
    if (template.minLength > 0) templates.push(template);
    p += 6 + scopeBytes + optionBytes;
  }
  return { templates, problems };
}

/**
 * The FlowSets of a v9 packet: `flowset_id(2) length(2)` then the body
 * (RFC 3954 §5.3); `length` includes the 4 header bytes.
 * @throws FlowDecodeError for a set length below 4 or past the packet's end, or 1–3 bytes left over.
 */
export function* v9FlowSets(view: DataView): Generator<{ id: number; start: number; end: number }> {
  let p = V9_HEADER_BYTES;
  while (p + 4 <= view.byteLength) {
    const id = view.getUint16(p);
    const length = view.getUint16(p + 2);
    if (length < 4)
      throw new FlowDecodeError(`v9 FlowSet ${id} length`, p + 2, `${length} is below 4`);
    if (p + length > view.byteLength)
      throw new FlowDecodeError(
        `v9 FlowSet ${id} length`,
        p + 2,
        `${length} runs past the packet's ${view.byteLength} bytes`,
      );
    yield { id, start: p + 4, end: p + length };
    p += length;
  }
  if (p < view.byteLength)
    throw new FlowDecodeError("v9 FlowSet header", p, `${view.byteLength - p} bytes left, needs 4`);
}
