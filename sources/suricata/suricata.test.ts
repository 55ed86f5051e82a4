import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectEvents } from "../collect-events.js";
import { DNS_WAIT_LINES, suricataSource } from "./suricata.js";

const data = (name: string) => new URL(`../testdata/${name}`, import.meta.url).pathname;
const EVE = data("suricata-eve.ndjson");

describe("suricataSource", () => {
  it("turns flow events into connections, field by field", async () => {
    const { events } = await collectEvents(suricataSource, { input: EVE });
    const byKey = new Map(events.map((e) => [e.key, e.event]));
    expect([...byKey.keys()]).toEqual([
      "1001",
      "1002",
      "1003",
      "1004",
      "1005",
      "1234567890123456789",
      "1006",
    ]);
    const dns = byKey.get("1001");
    expect(dns?.sourceIp).toBe("10.0.0.5");
    expect(dns?.destIp).toBe("10.0.0.53");
    expect(dns?.destPort).toBe(53);
    expect(dns?.protocol).toBe("UDP");
    expect(dns?.bytesSent).toBe(82n);
    expect(dns?.bytesRecv).toBe(160n);
    expect(dns?.dnsQuery).toBe("www.example.com");
    // flow.start, not the event's timestamp (when the flow was logged)
    expect(dns?.timestamp?.seconds).toBe(1700000000n);
    expect(dns?.timestamp?.nanos).toBe(100_000_000);
    // +0100 offset read as an offset
    expect(byKey.get("1003")?.timestamp?.seconds).toBe(1700000001n);
  });

  it("names flows by their own SNI first, else by an earlier DNS answer", async () => {
    const { events } = await collectEvents(suricataSource, { input: EVE });
    const byKey = new Map(events.map((e) => [e.key, e.event]));
    expect(byKey.get("1002")?.destDomain).toBe("api.example.com");
    expect(byKey.get("1003")?.destDomain).toBe("www.example.com");
    expect(byKey.get("1234567890123456789")?.destDomain).toBe("late.example.org");
  });

  it("gives ICMP port 0 and reads IPv6", async () => {
    const { events } = await collectEvents(suricataSource, { input: EVE });
    const icmp = events.find((e) => e.key === "1004")?.event;
    expect(icmp?.protocol).toBe("ICMP");
    expect(icmp?.destPort).toBe(0);
    expect(icmp?.destIp).toBe("2001:db8::1");
  });

  it("holds a DNS flow read before its dns event, and sends one whose event never comes", async () => {
    const { events, notices } = await collectEvents(suricataSource, { input: EVE });
    const byKey = new Map(events.map((e) => [e.key, e.event]));
    expect(byKey.get("1005")?.dnsQuery).toBe("late.example.org");
    expect(byKey.get("1006")?.dnsQuery).toBe("");
    expect(notices).toContain(
      `${EVE}: 1 of 3 DNS flow(s) had no dns event with their flow_id within ${DNS_WAIT_LINES} lines; sent without dns_query`,
    );
  });

  it("reads missing byte counts as 0, counted; passes other event types, counted", async () => {
    const { events, notices } = await collectEvents(suricataSource, { input: EVE });
    const big = events.find((e) => e.key === "1234567890123456789")?.event;
    expect(big?.bytesSent).toBe(0n);
    expect(notices).toContain(
      `${EVE}: 1 flow(s) without flow.bytes_toserver/bytes_toclient, read as 0`,
    );
    expect(notices).toContain(
      `${EVE}: 7 flow event(s) read; other event types: dns 3, tls 1, alert 1, stats 1 ` +
        "(dns, tls and http events name flows; the others are passed over)",
    );
  });

  it("skips a garbled line, binary garbage and a truncated last line by file:line", async () => {
    const { skips } = await collectEvents(suricataSource, { input: EVE });
    expect(skips.map((s) => s.where)).toEqual([`${EVE}:14`, `${EVE}:15`, `${EVE}:16`]);
    for (const s of skips) expect(s.message).toMatch(/^not JSON/);
  });

  it("sends a waiting DNS flow on after DNS_WAIT_LINES lines without its partner", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eve-"));
    try {
      const file = join(dir, "eve.json");
      const flow = {
        timestamp: "2023-11-14T22:14:03.000000+0000",
        flow_id: 77,
        event_type: "flow",
        src_ip: "10.0.0.5",
        src_port: 5300,
        dest_ip: "10.0.0.53",
        dest_port: 53,
        proto: "UDP",
        app_proto: "dns",
        flow: { bytes_toserver: 1, bytes_toclient: 2, start: "2023-11-14T22:13:23Z" },
      };
      const filler = JSON.stringify({ timestamp: "2023-11-14T22:14:04Z", event_type: "stats" });
      const late = JSON.stringify({
        timestamp: "2023-11-14T22:13:23Z",
        flow_id: 77,
        event_type: "dns",
        dns: { type: "query", rrname: "too.late.example" },
      });
      const lines = [JSON.stringify(flow), ...Array(DNS_WAIT_LINES).fill(filler), late];
      await writeFile(file, `${lines.join("\n")}\n`);
      const { events, notices } = await collectEvents(suricataSource, { input: file });
      expect(events).toHaveLength(1);
      expect(events[0]?.event.dnsQuery).toBe("");
      expect(notices.some((n) => n.includes("1 of 1 DNS flow(s) had no dns event"))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
