import {
  encodeIpfixMessage,
  encodeIpfixTemplate,
  encodeRecord,
  encodeSet,
  fieldsOf,
} from "../sources/flow/export-packets.js";
import { FlowDecoder } from "../sources/flow/flow-decoder.js";
import { connectionEvent } from "../sources/flow/flow-event.js";
import { FlowPairer } from "../sources/flow/pair-flows.js";
import { type Rates, timeRuns } from "./stats.js";

/** Sizes of the flow decode bench. */
export interface FlowDecodeBenchOptions {
  /** Timed runs per measurement, after one warm-up. Default 5. */
  repeats?: number;
  /** IPFIX messages decoded per run. Default 2,000. */
  messages?: number;
  /** Flow records per message (softflowd sends up to about 32 in 1,400 bytes). Default 30. */
  recordsPerMessage?: number;
}

/** Decoded flow records per second, median and spread over the repeats. */
export interface FlowDecodeResults {
  /** Records per run. */
  records: number;
  /** Bytes of one data message. */
  messageBytes: number;
  /** `FlowDecoder.decode` alone: IPFIX messages to flow records. */
  decode: Rates;
  /** Decode, pair both directions into one connection, and build the `NetworkEvent`. */
  pipeline: Rates;
}

/** softflowd's IPv4 flow template (IPFIX, seen on the wire here): 42 bytes a record. */
const FIELDS = fieldsOf([
  [8, 4],
  [12, 4],
  [22, 4],
  [21, 4],
  [1, 4],
  [2, 4],
  [10, 4],
  [14, 4],
  [61, 1],
  [136, 1],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [60, 1],
  [5, 1],
]);
const OPTIONS = fieldsOf([
  [143, 4],
  [160, 8],
]);

/**
 * IPFIX messages as softflowd sends them: one with the templates and the
 * exporter's boot time, then data messages of `perMessage` records, half
 * of them the reverse direction of the other half.
 */
function messages(count: number, perMessage: number): Uint8Array[] {
  const exportS = Math.floor(Date.UTC(2026, 11, 7) / 1000);
  const head = encodeIpfixMessage({ exportS, sequence: 0, domain: 0 }, [
    encodeSet(2, encodeIpfixTemplate(1024, FIELDS)),
    encodeSet(3, encodeIpfixTemplate(256, OPTIONS, 1)),
    encodeSet(256, encodeRecord(OPTIONS, { 143: 1, 160: exportS * 1000 - 3_600_000 })),
  ]);
  const out = [head];
  let sequence = 1;
  for (let m = 0; m < count; m++) {
    const records: Uint8Array[] = [];
    for (let r = 0; r < perMessage; r++) {
      const conn = m * perMessage + (r >> 1);
      const client = `10.${(conn >> 16) & 255}.${(conn >> 8) & 255}.${conn & 255}`;
      const port = 32768 + (conn % 20000);
      const forward = (r & 1) === 0;
      records.push(
        encodeRecord(FIELDS, {
          8: forward ? client : "192.0.2.10",
          12: forward ? "192.0.2.10" : client,
          22: 1_000_000 + conn,
          21: 1_000_500 + conn,
          1: forward ? 400 + (conn % 1000) : 20_000 + conn,
          2: 5,
          7: forward ? port : 443,
          11: forward ? 443 : port,
          4: 6,
        }),
      );
    }
    out.push(
      encodeIpfixMessage({ exportS, sequence, domain: 0 }, [
        encodeSet(1024, Buffer.concat(records)),
      ]),
    );
    sequence += perMessage;
  }
  return out;
}

/**
 * Measures how many flow records per second the IPFIX decoder turns out,
 * alone and with pairing and event building, on one core in this process.
 * @throws Error if the decoder reports any problem with the generated messages.
 */
export function runFlowDecodeBench(options: FlowDecodeBenchOptions = {}): FlowDecodeResults {
  const repeats = options.repeats ?? 5;
  const perMessage = options.recordsPerMessage ?? 30;
  const packets = messages(options.messages ?? 2000, perMessage);
  const records = (packets.length - 1) * perMessage;
  const fail = (p: { where: string; message: string }) => {
    throw new Error(`flow decode bench: ${p.where}: ${p.message}`);
  };
  let decoded = 0;
  const decode = timeRuns(repeats, records, () => {
    const decoder = new FlowDecoder(fail);
    decoded = 0;
    for (const p of packets) decoded += decoder.decode(p, "127.0.0.1", 9995, 0).length;
  });
  if (decoded !== records) throw new Error(`flow decode bench: ${decoded} of ${records} records`);
  let events = 0;
  const pipeline = timeRuns(repeats, records, () => {
    const decoder = new FlowDecoder(fail);
    const pairer = new FlowPairer((c) => {
      connectionEvent(c);
      events++;
    });
    events = 0;
    for (const p of packets)
      for (const r of decoder.decode(p, "127.0.0.1", 9995, 0)) pairer.add(r, 0);
  });
  if (events !== records / 2)
    throw new Error(`flow decode bench: ${events} of ${records / 2} events`);
  return { records, messageBytes: packets[1]?.length ?? 0, decode, pipeline };
}
