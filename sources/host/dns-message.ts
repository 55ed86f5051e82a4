import { ipv6 } from "./pcap-stream.js";

/**
 * A reader of the parts of a DNS message (RFC 1035 §4.1) a collector needs:
 * the question names and the A, AAAA and CNAME answers, with name
 * compression (§4.1.4) followed safely (bounded jumps, bounds checks).
 */

/** One answer record the collector uses. */
export interface DnsAnswer {
  /** Owner name, lowercase, without the trailing dot. */
  name: string;
  type: "A" | "AAAA" | "CNAME";
  ttl: number;
  /** Address (A, AAAA) or canonical name (CNAME). */
  data: string;
}

/** The decoded message. */
export interface DnsMessage {
  id: number;
  response: boolean;
  /** RCODE (0 = no error, 3 = NXDOMAIN). */
  rcode: number;
  questions: string[];
  answers: DnsAnswer[];
}

/** A message that does not decode: truncated, a loop of pointers, a bad label. */
export class DnsParseError extends Error {
  override readonly name = "DnsParseError";
}

const MAX_JUMPS = 32;

/**
 * Parses a DNS message from a UDP payload.
 *
 * @throws DnsParseError naming the byte offset where it went wrong.
 */
export function parseDnsMessage(bytes: Uint8Array): DnsMessage {
  if (bytes.length < 12)
    throw new DnsParseError(`message of ${bytes.length} bytes is below the 12-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint16(2);
  const qdCount = view.getUint16(4);
  const anCount = view.getUint16(6);
  let at = 12;
  const questions: string[] = [];
  for (let i = 0; i < qdCount; i++) {
    const { name, next } = readName(bytes, at);
    if (next + 4 > bytes.length)
      throw new DnsParseError(`question ${i + 1} truncated at offset ${next}`);
    questions.push(name);
    at = next + 4;
  }
  const answers: DnsAnswer[] = [];
  for (let i = 0; i < anCount; i++) {
    const { name, next } = readName(bytes, at);
    if (next + 10 > bytes.length)
      throw new DnsParseError(`answer ${i + 1} truncated at offset ${next}`);
    const type = view.getUint16(next);
    const ttl = view.getUint32(next + 4);
    const rdLength = view.getUint16(next + 8);
    const rdAt = next + 10;
    if (rdAt + rdLength > bytes.length) {
      throw new DnsParseError(`answer ${i + 1} data of ${rdLength} bytes runs past the message`);
    }
    if (type === 1 && rdLength === 4) {
      answers.push({ name, type: "A", ttl, data: bytes.subarray(rdAt, rdAt + 4).join(".") });
    } else if (type === 28 && rdLength === 16) {
      answers.push({ name, type: "AAAA", ttl, data: ipv6(bytes.subarray(rdAt, rdAt + 16)) });
    } else if (type === 5) {
      answers.push({ name, type: "CNAME", ttl, data: readName(bytes, rdAt).name });
    }
    at = rdAt + rdLength;
  }
  return {
    id: view.getUint16(0),
    response: (flags & 0x8000) !== 0,
    rcode: flags & 0x0f,
    questions,
    answers,
  };
}

/** Reads a possibly compressed name at `start`; `next` is the offset after it in place. */
function readName(bytes: Uint8Array, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = start;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (at >= bytes.length)
      throw new DnsParseError(`name at offset ${start} runs past the message`);
    const len = bytes[at] as number;
    if (len === 0) {
      if (next < 0) next = at + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= bytes.length) throw new DnsParseError(`pointer at offset ${at} is truncated`);
      if (++jumps > MAX_JUMPS)
        throw new DnsParseError(`name at offset ${start} loops through pointers`);
      if (next < 0) next = at + 2;
      at = ((len & 0x3f) << 8) | (bytes[at + 1] as number);
      continue;
    }
    if ((len & 0xc0) !== 0)
      throw new DnsParseError(`label type 0x${len.toString(16)} at offset ${at}`);
    if (at + 1 + len > bytes.length)
      throw new DnsParseError(`label at offset ${at} runs past the message`);
    length += len + 1;
    if (length > 255) throw new DnsParseError(`name at offset ${start} is longer than 255 bytes`);
    labels.push(
      Buffer.from(bytes.subarray(at + 1, at + 1 + len))
        .toString("latin1")
        .toLowerCase(),
    );
    at += 1 + len;
  }
  return { name: labels.join("."), next };
}
