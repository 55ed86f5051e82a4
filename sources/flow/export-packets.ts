import { isIPv4 } from "node:net";
import type { TemplateField } from "./templates.js";

/**
 * Encoders for NetFlow v5, NetFlow v9 and IPFIX packets, as an exporter
 * writes them: the tests build their packets with these (from the RFCs'
 * layouts, independently of the decoder), and so does the decode bench.
 */

/** A field value: an address (text), an unsigned integer, or raw bytes for a variable-length field. */
export type FieldValue = string | number | bigint | Uint8Array;

/** Values of a record by Information Element id; enterprise fields as `"29305:1"`. */
export type RecordSpec = Record<string, FieldValue>;

/** A field specifier in short form: `[id, length]` or `[id, length, enterprise]`. */
export type FieldSpec = readonly [number, number] | readonly [number, number, number];

/** @returns full field specifiers. */
export function fieldsOf(specs: readonly FieldSpec[]): TemplateField[] {
  return specs.map(([id, length, enterprise]) => ({ id, length, enterprise: enterprise ?? 0 }));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u(value: number | bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = BigInt(value);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function address(text: string): Uint8Array {
  if (isIPv4(text)) return Uint8Array.from(text.split(".").map(Number));
  const [head = "", tail = ""] = text.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === "" ? [] : text.includes("::") ? tail.split(":") : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return concat(words.map((w) => u(Number.parseInt(w, 16), 2)));
}

/** Encodes one data record laid out by `fields`; missing values are zero. */
export function encodeRecord(fields: readonly TemplateField[], values: RecordSpec): Uint8Array {
  return concat(
    fields.map((f) => {
      const v = values[f.enterprise === 0 ? String(f.id) : `${f.enterprise}:${f.id}`] ?? 0;
      if (f.length === 65535) {
        // RFC 7011 §7: one length byte below 255, else 255 and two length bytes.
        const bytes = typeof v === "string" ? new TextEncoder().encode(v) : (v as Uint8Array);
        const prefix =
          bytes.length < 255 ? u(bytes.length, 1) : concat([u(255, 1), u(bytes.length, 2)]);
        return concat([prefix, bytes]);
      }
      if (typeof v === "string") return address(v);
      if (v instanceof Uint8Array) return v;
      return u(v, f.length);
    }),
  );
}

/** A set or FlowSet: `id(2) length(2)` and the body (RFC 7011 §3.3.2, RFC 3954 §5.3). */
export function encodeSet(id: number, body: Uint8Array): Uint8Array {
  return concat([u(id, 2), u(body.length + 4, 2), body]);
}

/**
 * A template record (RFC 7011 §3.4.1; an options template when `scopeCount` is given,
 * §3.4.2.2). Enterprise fields set the top bit of the id and carry their number (§3.2).
 */
export function encodeIpfixTemplate(
  id: number,
  fields: readonly TemplateField[],
  scopeCount?: number,
): Uint8Array {
  const head =
    scopeCount === undefined
      ? [u(id, 2), u(fields.length, 2)]
      : [u(id, 2), u(fields.length, 2), u(scopeCount, 2)];
  return concat([
    ...head,
    ...fields.map((f) =>
      f.enterprise === 0
        ? concat([u(f.id, 2), u(f.length, 2)])
        : concat([u(f.id | 0x8000, 2), u(f.length, 2), u(f.enterprise, 4)]),
    ),
  ]);
}

/** An IPFIX message (RFC 7011 §3.1): the 16-byte header, then the sets. */
export function encodeIpfixMessage(
  header: { exportS: number; sequence: number; domain: number },
  sets: readonly Uint8Array[],
): Uint8Array {
  const body = concat(sets);
  return concat([
    u(10, 2),
    u(16 + body.length, 2),
    u(header.exportS, 4),
    u(header.sequence, 4),
    u(header.domain, 4),
    body,
  ]);
}

/** A NetFlow v9 template record (RFC 3954 §5.2): id, field count, then `type(2) length(2)` pairs. */
export function encodeV9Template(id: number, fields: readonly TemplateField[]): Uint8Array {
  return concat([
    u(id, 2),
    u(fields.length, 2),
    ...fields.map((f) => concat([u(f.id, 2), u(f.length, 2)])),
  ]);
}

/** A NetFlow v9 packet (RFC 3954 §5.1): the 20-byte header, then the FlowSets. */
export function encodeV9Packet(
  header: {
    count: number;
    sysUptimeMs: number;
    exportS: number;
    sequence: number;
    sourceId: number;
  },
  flowSets: readonly Uint8Array[],
): Uint8Array {
  return concat([
    u(9, 2),
    u(header.count, 2),
    u(header.sysUptimeMs, 4),
    u(header.exportS, 4),
    u(header.sequence, 4),
    u(header.sourceId, 4),
    ...flowSets,
  ]);
}

/** One NetFlow v5 flow; `first` and `last` are the exporter's uptime in ms. */
export interface V5Flow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: number;
  bytes: number;
  packets: number;
  first: number;
  last: number;
}

/** A NetFlow v5 packet: the 24-byte header and 48-byte records (Cisco's v5 layout). */
export function encodeV5Packet(
  header: { sysUptimeMs: number; exportS: number; sequence: number; engine?: number },
  flows: readonly V5Flow[],
): Uint8Array {
  return concat([
    u(5, 2),
    u(flows.length, 2),
    u(header.sysUptimeMs, 4),
    u(header.exportS, 4),
    u(0, 4),
    u(header.sequence, 4),
    u(header.engine ?? 0, 2),
    u(0, 2),
    ...flows.map((f) =>
      concat([
        address(f.src),
        address(f.dst),
        u(0, 4), // nexthop
        u(0, 4), // input, output
        u(f.packets, 4),
        u(f.bytes, 4),
        u(f.first, 4),
        u(f.last, 4),
        u(f.sport, 2),
        u(f.dport, 2),
        u(0, 1), // pad1
        u(0, 1), // tcp_flags
        u(f.proto, 1),
        u(0, 1), // tos
        u(0, 8), // src_as, dst_as, masks, pad2
      ]),
    ),
  ]);
}
