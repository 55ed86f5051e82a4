import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  csvReplaySource,
  type SkippedRow,
  type SourceEvent,
  simulatorSource,
} from "./telemetry-source.js";

const here = new URL(".", import.meta.url).pathname;

async function collect(path: string) {
  const skipped: SkippedRow[] = [];
  const events: SourceEvent[] = [];
  for await (const e of csvReplaySource(path, (row) => skipped.push(row))) events.push(e);
  return { events, skipped };
}

describe("csvReplaySource()", () => {
  it("replays data/telemetry.csv in full, unlabelled", async () => {
    const { events, skipped } = await collect(join(here, "../data/telemetry.csv"));
    expect(skipped).toEqual([]);
    expect(events.length).toBeGreaterThanOrEqual(20_000);
    expect(events[0]?.label).toBeUndefined();
    expect(events[0]?.event.processPath).toMatch(/^C:\\/);
  });

  it("skips unencodable rows with their line numbers and sends rule-breaking rows as they are", async () => {
    const { events, skipped } = await collect(join(here, "testdata/replay-small.csv"));
    expect(skipped.map((s) => s.line).sort((a, b) => a - b)).toEqual([5, 8]);
    skipped.sort((a, b) => a.line - b.line);
    expect(skipped[0]?.message).toMatch(/dest_port "fifty-three" is not a non-negative integer/);
    expect(events.map((e) => e.label)).toEqual([
      "normal",
      "normal",
      "exfiltration",
      "normal",
      "normal",
      "normal",
    ]);
    expect(events[2]?.event.bytesSent).toBe(900_000_000n);
    // Port 70000 breaks a contract rule, not the encoding: it is sent for the server to reject.
    expect(events[3]?.event.destPort).toBe(70_000);
    expect(events[4]?.event.processPath).toBe("C:\\Program Files\\Slack\\slack.exe");
  });

  it("takes labels from a label column when there is no scenario column", async () => {
    const path = join(tmpdir(), `netanomaly-replay-${process.pid}.csv`);
    await writeFile(
      path,
      "timestamp,process_path,process_hash,source_ip,dest_ip,dest_domain,dest_port,bytes_sent,bytes_recv,protocol,dns_query,parent_process,user_context,label\n" +
        "2024-12-16T09:00:00Z,a.exe,,,,,1,1,1,TCP,,,,0\n2024-12-16T09:00:00Z,b.exe,,,,,1,1,1,TCP,,,,1\n",
    );
    const { events } = await collect(path);
    expect(events.map((e) => e.label)).toEqual(["normal", "attack"]);
  });

  it("rejects a header without every telemetry column", async () => {
    const path = join(tmpdir(), `netanomaly-replay-bad-${process.pid}.csv`);
    await writeFile(path, "timestamp,process_path\n2024-12-16T09:00:00Z,a.exe\n");
    await expect(collect(path)).rejects.toThrow(/header lacks column\(s\) process_hash/);
  });
});

describe("simulatorSource()", () => {
  it("yields labelled simulator events", () => {
    const it = simulatorSource({ seed: 1, anomalyRate: 1 })[Symbol.iterator]();
    const first = it.next().value as SourceEvent;
    expect(first.label).not.toBe("normal");
  });
});
