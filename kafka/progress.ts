import type { Consumer } from "@platformatic/kafka";
import { within } from "./bounded.js";

/**
 * Records waiting in `partitions` of `topic` for the consumer's group, as
 * the broker counts them: per partition whose committed offset (0 when none)
 * is behind the end offset, the records in between. Partitions with none
 * waiting are left out.
 *
 * The scorer asks when it has received nothing for a while: the client can
 * fetch on and on, answered every time, and still deliver nothing (seen in
 * CI after a broker restart: a member holding three partitions with 15,000
 * records behind them, fetching every 200 ms, idle for three minutes). Only
 * the broker's own offsets can tell that silence from an empty topic.
 */
export async function waitingRecords(
  consumer: Consumer,
  topic: string,
  partitions: number[],
  timeoutMs: number,
): Promise<Map<number, bigint>> {
  const [ends, committed] = await Promise.all([
    within(
      consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions } }),
      timeoutMs,
      "listing end offsets",
    ),
    within(
      consumer.listCommittedOffsets({ topics: [{ topic, partitions }] }),
      timeoutMs,
      "listing committed offsets",
    ),
  ]);
  const end = ends.get(topic) ?? [];
  const done = committed.get(topic) ?? [];
  const waiting = new Map<number, bigint>();
  for (const p of partitions) {
    const e = end[p];
    const c = done[p] ?? -1n;
    if (e === undefined) continue;
    const behind = e - (c < 0n ? 0n : c);
    if (behind > 0n) waiting.set(p, behind);
  }
  return waiting;
}
