import { FlowDecodeError, need } from "./byte-reader.js";
import type { ParsedTemplates } from "./netflow-v9.js";
import { makeTemplate, type Template, type TemplateField } from "./templates.js";

/** Bytes of the IPFIX Message Header (RFC 7011 §3.1). */
export const IPFIX_HEADER_BYTES = 16;
/** Set IDs (RFC 7011 §3.3.2): 2 Template Set, 3 Options Template Set, 256 and up Data Sets. */
export const TEMPLATE_SET_ID = 2;
export const OPTIONS_TEMPLATE_SET_ID = 3;

/** The IPFIX Message Header (RFC 7011 §3.1). */
export interface IpfixHeader {
  /** Total length of the message in bytes, header included. */
  length: number;
  exportMs: number;
  /** Data records sent before this message in this domain, modulo 2^32. */
  sequence: number;
  observationDomain: number;
}

/**
 * Reads the message header and checks its Length against the datagram.
 * @throws FlowDecodeError when the datagram is shorter than the header or the Length says.
 */
export function readIpfixHeader(view: DataView): IpfixHeader {
  need(view, 0, IPFIX_HEADER_BYTES, "IPFIX message header");
  const length = view.getUint16(2);
  if (length < IPFIX_HEADER_BYTES)
    throw new FlowDecodeError("IPFIX message length", 2, `${length} is below 16`);
  if (length > view.byteLength)
    throw new FlowDecodeError(
      "IPFIX message length",
      2,
      `${length} but the datagram has ${view.byteLength} bytes (truncated)`,
    );
  return {
    length,
    exportMs: view.getUint32(4) * 1000,
    sequence: view.getUint32(8),
    observationDomain: view.getUint32(12),
  };
}

/**
 * The Sets of a message: `set_id(2) length(2)` then the body (RFC 7011 §3.3.2).
 * @throws FlowDecodeError for a Set length below 4 or past the message's end.
 */
export function* ipfixSets(
  view: DataView,
  messageLength: number,
): Generator<{ id: number; start: number; end: number }> {
  let p = IPFIX_HEADER_BYTES;
  while (p < messageLength) {
    if (p + 4 > messageLength)
      throw new FlowDecodeError("IPFIX set header", p, `${messageLength - p} bytes left, needs 4`);
    const id = view.getUint16(p);
    const length = view.getUint16(p + 2);
    if (length < 4)
      throw new FlowDecodeError(`IPFIX set ${id} length`, p + 2, `${length} is below 4`);
    if (p + length > messageLength)
      throw new FlowDecodeError(
        `IPFIX set ${id} length`,
        p + 2,
        `${length} runs past the message's ${messageLength} bytes`,
      );
    yield { id, start: p + 4, end: p + length };
    p += length;
  }
}

/** Withdrawals a Template Set carried (RFC 7011 §8.1): template ids, or "all" for the set's kind. */
export interface ParsedIpfixTemplates extends ParsedTemplates {
  withdrawn: number[];
  withdrawAll: boolean;
}

/**
 * Reads a Template Set (RFC 7011 §3.4.1) or an Options Template Set (§3.4.2.2):
 * records of `template_id(2) field_count(2) [scope_field_count(2)]` and
 * field specifiers `E|id(2) length(2) [enterprise_number(4)]` (§3.2: the
 * top bit of the id says an enterprise number follows). A record with
 * field count 0 withdraws its template (§8.1); a template id equal to the
 * Set ID withdraws them all. Fewer than 4 bytes left are padding (§3.3.1).
 */
export function parseIpfixTemplates(
  view: DataView,
  start: number,
  end: number,
  setId: number,
): ParsedIpfixTemplates {
  const options = setId === OPTIONS_TEMPLATE_SET_ID;
  const header = options ? 6 : 4;
  const out: ParsedIpfixTemplates = {
    templates: [],
    problems: [],
    withdrawn: [],
    withdrawAll: false,
  };
  let p = start;
  while (p + 4 <= end) {
    const id = view.getUint16(p);
    const count = view.getUint16(p + 2);
    if (count === 0) {
      if (id === setId) out.withdrawAll = true;
      else if (id >= 256) out.withdrawn.push(id);
      else if (id !== 0) out.problems.push(`template id ${id} at byte ${p} is below 256`);
      if (id === 0) break; // padding
      p += 4;
      continue;
    }
    if (id < 256) {
      out.problems.push(`template id ${id} at byte ${p} is below 256 (RFC 7011 §3.4.1)`);
      break;
    }
    if (p + header > end) {
      out.problems.push(`options template ${id} at byte ${p}: header cut off`);
      break;
    }
    const scopeCount = options ? view.getUint16(p + 4) : 0;
    if (options && (scopeCount === 0 || scopeCount > count)) {
      out.problems.push(
        `options template ${id} at byte ${p}: scope field count ${scopeCount} must be 1..${count} (RFC 7011 §3.4.2.2)`,
      );
      break;
    }
    const fields: TemplateField[] = [];
    let q = p + header;
    let ok = true;
    for (let i = 0; i < count; i++) {
      if (q + 4 > end) {
        ok = false;
        break;
      }
      const raw = view.getUint16(q);
      const length = view.getUint16(q + 2);
      q += 4;
      let enterprise = 0;
      if (raw & 0x8000) {
        if (q + 4 > end) {
          ok = false;
          break;
        }
        enterprise = view.getUint32(q);
        q += 4;
      }
      fields.push({ id: raw & 0x7fff, length, enterprise });
    }
    if (!ok) {
      out.problems.push(
        `template ${id} at byte ${p}: ${count} field specifiers run past the set's end at byte ${end}`,
      );
      break;
    }
    const template: Template = makeTemplate(id, fields, scopeCount);
    if (template.minLength === 0) out.problems.push(`template ${id} at byte ${p} has no bytes`);
    else out.templates.push(template);
    p = q;
  }
  return out;
}
