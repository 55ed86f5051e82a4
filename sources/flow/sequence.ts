/** A jump in an exporter's sequence numbers: records or packets that never arrived. */
export interface SequenceGap {
  /** Sequence number the packet carried. */
  got: number;
  /** Sequence number the stream's last packet implied. */
  expected: number;
  /** `missing`: later than expected (loss); `behind`: earlier (reordered, duplicated or restarted). */
  kind: "missing" | "behind";
  /** How far off, in the stream's unit (records for v5 and IPFIX, packets for v9). */
  distance: number;
}

interface Stream {
  seq: number;
  /** Next sequence numbers that count as in order (one per counting convention). */
  next: number[];
}

/**
 * Sequence numbers per exporter transport session and observation domain.
 *
 * - NetFlow v5: `flow_sequence` counts flows sent before this packet, so the next packet is
 *   `seq + count`.
 * - NetFlow v9 (RFC 3954 §5.1): counts export packets: the next is `seq + 1`.
 * - IPFIX (RFC 7011 §3.1): counts data records sent before this message, modulo 2^32.
 *   softflowd 1.1 counts the message's own flow records instead (its first message of 24
 *   flow records carries 24; observed here), so a message whose number is the last one plus
 *   its own record count is also in order.
 */
export class SequenceTracker {
  readonly #streams = new Map<string, Stream>();
  readonly #maxStreams: number;

  /** @param maxStreams streams remembered; the least recently seen is forgotten first. */
  constructor(maxStreams = 4096) {
    this.#maxStreams = maxStreams;
  }

  /**
   * Records one packet's sequence number.
   * @param key transport session and domain, `127.0.0.1:4711|v10|0`.
   * @param nextAfter the numbers the following packet may carry.
   * @param alsoNow further numbers this packet may carry in order (softflowd's IPFIX count).
   * @returns the gap, when the number is not one the previous packet implied.
   */
  observe(
    key: string,
    seq: number,
    nextAfter: number[],
    alsoNow: (previous: number) => number[] = () => [],
  ): SequenceGap | undefined {
    const stream = this.#streams.get(key);
    this.#streams.delete(key);
    this.#streams.set(key, { seq, next: nextAfter.map((n) => n >>> 0) });
    if (this.#streams.size > this.#maxStreams) {
      this.#streams.delete(this.#streams.keys().next().value as string);
    }
    if (stream === undefined) return undefined;
    const ok = [...stream.next, ...alsoNow(stream.seq).map((n) => n >>> 0)];
    if (ok.includes(seq)) return undefined;
    const expected = stream.next[0] as number;
    const ahead = (seq - expected) >>> 0;
    return ahead < 2 ** 31
      ? { got: seq, expected, kind: "missing", distance: ahead }
      : { got: seq, expected, kind: "behind", distance: 2 ** 32 - ahead };
  }
}
