/**
 * Protobuf's base-128 varint of a non-negative integer below 2^53, by
 * division (bit operations would cut it to 32 bits): the writers of the
 * agent's hand-made encodings share it.
 */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** The bytes {@link writeVarint} writes for `v`. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}
