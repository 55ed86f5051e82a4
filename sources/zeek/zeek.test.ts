import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectEvents } from "../collect-events.js";
import { zeekSource } from "./zeek.js";

const data = (name: string) => new URL(`../testdata/${name}`, import.meta.url).pathname;

function row(e: {
  event: { sourceIp: string; destIp: string; destPort: number; protocol: string };
}) {
  return `${e.event.sourceIp}>${e.event.destIp}:${e.event.destPort}/${e.event.protocol}`;
}

describe("zeekSource (TSV)", () => {
  it("maps conn.log fields and keeps reading past a bad line and a repeated header", async () => {
    const { events, skips } = await collectEvents(zeekSource, { input: data("zeek-conn.log") });
    expect(events.map(row)).toEqual([
      "10.0.0.5>10.0.0.53:53/UDP",
      "10.0.0.5>93.184.216.34:443/TCP",
      "10.0.0.5>10.0.0.1:0/ICMP",
      "2001:db8::10>2001:db8::443:443/TCP",
      "10.0.0.8>198.51.100.9:22/TCP",
    ]);
    const tcp = events[1]?.event;
    expect(tcp?.bytesSent).toBe(1200n);
    expect(tcp?.bytesRecv).toBe(54000n);
    expect(tcp?.timestamp?.seconds).toBe(1700000000n);
    expect(tcp?.timestamp?.nanos).toBe(250_000_000);
    expect(events[1]?.key).toBe("CweB2bbbbbbbbbbbb2");
    // The second header block reorders the fields: bytes come from their new columns.
    expect(events[4]?.event.bytesSent).toBe(3000n);
    expect(events[4]?.event.bytesRecv).toBe(4000n);
    expect(skips.map((s) => s.where)).toEqual([
      `${data("zeek-conn.log")}:13`,
      `${data("zeek-conn.log")}:24`,
      `${data("zeek-conn.log")}:25`,
    ]);
    expect(skips[0]?.message).toBe('id.resp_p "http" is not a port');
    expect(skips[1]?.message).toBe("5 cells, the #fields header (line 21) has 10");
  });

  it("reads unset byte counts as 0 and says so once, counted", async () => {
    const { events, notices } = await collectEvents(zeekSource, { input: data("zeek-conn.log") });
    const v6 = events[3]?.event;
    expect(v6?.bytesSent).toBe(0n);
    expect(v6?.bytesRecv).toBe(0n);
    expect(notices.filter((n) => n.includes("unset (-)"))).toHaveLength(1);
    expect(notices).toContain(
      `${data("zeek-conn.log")}: 1 conn(s) had unset byte counts, read as 0`,
    );
  });

  it("joins dns.log by uid for the query and names answered addresses", async () => {
    const { events, notices } = await collectEvents(zeekSource, {
      input: data("zeek-conn.log"),
      dns: data("zeek-dns.log"),
    });
    expect(events[0]?.event.dnsQuery).toBe("www.example.com");
    expect(events[0]?.event.destDomain).toBe("ns.corp.example");
    // The answer was ::ffff:-mapped; it names the later conn to that address.
    expect(events[1]?.event.destDomain).toBe("www.example.com");
    expect(events[1]?.event.dnsQuery).toBe("");
    expect(events[4]?.event.destDomain).toBe("");
    expect(notices.some((n) => n.includes("no dns.log record"))).toBe(false);
  });

  it("counts a DNS conn whose dns.log record never comes", async () => {
    const { events, notices } = await collectEvents(zeekSource, {
      input: data("zeek-conn.ndjson"),
      dns: data("zeek-dns.ndjson"),
    });
    // dns.log (JSON) has a lookup on another uid only: the DNS conn goes without its query,
    expect(events[0]?.event.dnsQuery).toBe("");
    // but the answer still names the address for the conn after it.
    expect(events[1]?.event.destDomain).toBe("www.example.com");
    expect(notices.some((n) => n.includes("1 of 1 DNS conn(s) had no dns.log record"))).toBe(true);
  });

  it("reads a rotated, gzipped log", async () => {
    const { events, skips } = await collectEvents(zeekSource, {
      input: data("zeek-conn.2023-11-14-22-00-00.log.gz"),
    });
    expect(events).toHaveLength(4);
    expect(skips).toHaveLength(1);
  });

  it("reads rows without a header in the documented default order, saying so", async () => {
    const { events, notices } = await collectEvents(zeekSource, {
      input: data("zeek-conn-noheader.log"),
    });
    expect(events.map(row)).toEqual([
      "10.0.0.5>10.0.0.53:53/UDP",
      "10.0.0.5>93.184.216.34:443/TCP",
    ]);
    expect(notices[0]).toMatch(/:1: no #fields header; reading conn.log in the documented default/);
  });

  it("rejects dns.log given as the conn.log, naming --dns", async () => {
    await expect(collectEvents(zeekSource, { input: data("zeek-dns.log") })).rejects.toThrow(
      /zeek-dns\.log:5: this is Zeek's dns\.log, --source zeek reads conn\.log \(give dns\.log as --dns FILE\)/,
    );
  });
});

describe("zeekSource (JSON)", () => {
  it("skips dns.log records given as conn.log, saying where dns.log goes", async () => {
    const { events, skips } = await collectEvents(zeekSource, { input: data("zeek-dns.ndjson") });
    expect(events).toEqual([]);
    expect(skips).toEqual([
      {
        where: `${data("zeek-dns.ndjson")}:1`,
        message:
          "a Zeek dns.log record (query, no conn_state), not conn.log; give dns.log as --dns FILE",
      },
    ]);
  });

  it("reads epoch and ISO ts, dotted and underscored keys, a truncated last line", async () => {
    const { events, skips } = await collectEvents(zeekSource, { input: data("zeek-conn.ndjson") });
    expect(events.map(row)).toEqual([
      "10.0.0.5>10.0.0.53:53/UDP",
      "10.0.0.5>93.184.216.34:443/TCP",
      "2001:db8::10>2001:db8::443:443/TCP",
      "10.0.0.9>10.0.0.1:0/ICMP",
    ]);
    expect(events[1]?.event.timestamp?.seconds).toBe(1700000000n);
    expect(events[2]?.event.bytesSent).toBe(0n);
    expect(skips).toHaveLength(1);
    expect(skips[0]?.where).toBe(`${data("zeek-conn.ndjson")}:5`);
    expect(skips[0]?.message).toMatch(/^not JSON/);
  });
});

describe("zeekSource with follow", () => {
  it("reads conns appended to conn.log and the new conn.log after Zeek rotates it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zeek-follow-"));
    const abort = new AbortController();
    try {
      const text = await readFile(data("zeek-conn.log"), "utf8");
      const lines = text.split("\n");
      const header = lines.slice(0, 8).join("\n");
      const path = join(dir, "conn.log");
      await writeFile(path, `${header}\n${lines[8]}\n`);
      const notices: string[] = [];
      const ctx = {
        signal: abort.signal,
        onSkip: () => {},
        onNotice: (m: string) => notices.push(m),
      };
      const it = zeekSource
        .open({ input: path, follow: true, intervalS: 0.01 }, ctx)
        [Symbol.asyncIterator]();
      expect((await it.next()).value?.key).toBe("CdnsQ1aaaaaaaaaaa1");
      await appendFile(path, `${lines[9]}\n`);
      expect((await it.next()).value?.key).toBe("CweB2bbbbbbbbbbbb2");
      // Rotation: the log moves away with its #close, a new one starts with its own header.
      await appendFile(path, "#close\t2023-11-14-23-00-00\n");
      await rename(path, join(dir, "conn.2023-11-14-22-00-00.log"));
      await writeFile(path, `${header}\n${lines[10]}\n`);
      expect((await it.next()).value?.key).toBe("CicmP3cccccccccccc3");
      abort.abort();
      expect((await it.next()).done).toBe(true);
      expect(notices.some((n) => n.includes("rotated"))).toBe(true);
    } finally {
      abort.abort();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
