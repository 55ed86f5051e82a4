/**
 * A read past the end of a packet or a field whose value breaks its rule:
 * `field` names what was being read (`set 256 length`, `v5 header`) and
 * `offset` the byte it starts at, so a skip message says where in the packet.
 */
export class FlowDecodeError extends Error {
  constructor(
    readonly field: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`${field} at byte ${offset}: ${detail}`);
    this.name = "FlowDecodeError";
  }
}

/**
 * Checks that `length` bytes from `offset` lie inside `view`.
 * @throws FlowDecodeError naming `field` when they do not.
 */
export function need(view: DataView, offset: number, length: number, field: string): void {
  if (offset + length > view.byteLength) {
    throw new FlowDecodeError(
      field,
      offset,
      `needs ${length} bytes, packet has ${Math.max(0, view.byteLength - offset)} left`,
    );
  }
}

/**
 * An unsigned big-endian integer of 1 to 8 bytes (RFC 7011 §6.2 reduced-size
 * encoding lets an exporter send a 64-bit counter in fewer bytes).
 */
export function readUnsigned(view: DataView, offset: number, length: number): bigint {
  let value = 0n;
  for (let i = 0; i < length; i++) value = (value << 8n) | BigInt(view.getUint8(offset + i));
  return value;
}

/** Dotted-quad text of the 4 bytes at `offset`. */
export function readIPv4(view: DataView, offset: number): string {
  return `${view.getUint8(offset)}.${view.getUint8(offset + 1)}.${view.getUint8(offset + 2)}.${view.getUint8(offset + 3)}`;
}

/** RFC 5952 text of the 16 bytes at `offset` (lowercase, longest zero run as `::`). */
export function readIPv6(view: DataView, offset: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(view.getUint16(offset + i * 2));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}
