import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { collectEvents } from "../collect-events.js";
import { osquerySource, PACK_COLUMNS } from "./osquery.js";

const data = (name: string) => new URL(`../testdata/${name}`, import.meta.url).pathname;
const LOG = data("osquery-results.ndjson");

describe("osquerySource", () => {
  it("reads added, snapshot and batched rows as connections, field by field", async () => {
    const { events } = await collectEvents(osquerySource, { input: LOG });
    expect(events.map((e) => e.key)).toEqual([
      "web01:4242",
      "web01:5151",
      "web01:777",
      "web02:900",
      "web01:6000",
    ]);
    const curl = events[0]?.event;
    expect(curl?.processPath).toBe("/usr/bin/curl");
    expect(curl?.processHash).toBe(
      "5c0d0b6f0d8c3a7f0a4c2b1e9d8f7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e",
    );
    expect(curl?.parentProcess).toBe("bash");
    expect(curl?.userContext).toBe("alice");
    expect(curl?.sourceIp).toBe("10.0.0.40");
    expect(curl?.destIp).toBe("93.184.216.34");
    expect(curl?.destPort).toBe(443);
    expect(curl?.protocol).toBe("TCP");
    expect(curl?.bytesSent).toBe(0n);
    expect(curl?.timestamp?.seconds).toBe(1700000000n);
  });

  it("reads numeric columns, IPv6 and ICMP's port as 0", async () => {
    const { events } = await collectEvents(osquerySource, { input: LOG });
    const resolved = events[1]?.event;
    expect(resolved?.protocol).toBe("UDP");
    expect(resolved?.destIp).toBe("2001:db8::53");
    expect(resolved?.destPort).toBe(53);
    expect(resolved?.timestamp?.seconds).toBe(1700000001n);
    expect(events[4]?.event.protocol).toBe("ICMP");
    expect(events[4]?.event.destPort).toBe(0);
  });

  it("passes over removed rows, other queries, Unix sockets and listeners, counted", async () => {
    const { notices } = await collectEvents(osquerySource, { input: LOG });
    expect(notices).toEqual([
      `${LOG}: passed over 2 "removed" row(s) (sockets closed)`,
      `${LOG}: passed over 1 row(s) of other queries (pack_it_processes); the reader wants netanomaly-pack.conf's columns`,
      `${LOG}: passed over 2 socket(s) not connected to an internet peer`,
    ]);
  });

  it("skips a garbled line, a bad address and a truncated last line by file:line", async () => {
    const { skips } = await collectEvents(osquerySource, { input: LOG });
    expect(skips.map((s) => s.where)).toEqual([`${LOG}:8`, `${LOG}:9`, `${LOG}:10`]);
    expect(skips[1]?.message).toBe('remote_address "not-an-ip" is not an address');
  });
});

describe("netanomaly-pack.conf", () => {
  it("is a pack whose query joins the four tables and selects the columns the reader reads", async () => {
    const pack = JSON.parse(
      await readFile(new URL("./netanomaly-pack.conf", import.meta.url), "utf8"),
    ) as { queries: Record<string, { query: string; interval: number }> };
    const q = pack.queries.netanomaly_sockets;
    expect(q?.interval).toBeGreaterThan(0);
    const sql = q?.query ?? "";
    for (const table of ["process_open_sockets", "processes", "users", "hash"])
      expect(sql).toMatch(new RegExp(`\\b${table}\\b`));
    const select = /^SELECT (.*?) FROM /.exec(sql)?.[1] ?? "";
    const columns = select.split(",").map((c) => {
      const t = c.trim();
      const as = / AS (\w+)$/.exec(t);
      return as ? (as[1] as string) : t.slice(t.indexOf(".") + 1);
    });
    expect(columns).toEqual([...PACK_COLUMNS]);
  });
});
