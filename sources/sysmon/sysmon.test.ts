import { describe, expect, it } from "vitest";
import { collectEvents } from "../collect-events.js";
import { queryResultAddresses } from "./query-results.js";
import { pickHash, sysmonSource } from "./sysmon.js";
import { XmlEventSplitter } from "./sysmon-xml.js";

const data = (name: string) => new URL(`../testdata/${name}`, import.meta.url).pathname;
const JSONL = data("sysmon-winlogbeat.ndjson");
const XML = data("sysmon-events.xml");
const A = "{3710b5c6-f3dd-6181-4000-000000000a01}";
const B = "{3710b5c6-0001-6181-0b00-000000000a02}";
const C = "{3710b5c6-0002-6181-0c00-000000000a03}";
const POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";

describe("sysmonSource (winlogbeat JSON)", () => {
  it("joins event 3 with event 1 and event 22 by ProcessGuid", async () => {
    const { events } = await collectEvents(sysmonSource, { input: JSONL });
    expect(events.map((e) => e.key)).toEqual([A, C, A, B]);
    const e = events[0]?.event;
    expect(e?.processPath).toBe(POWERSHELL);
    expect(e?.processHash).toBe("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08");
    expect(e?.parentProcess).toBe("explorer.exe");
    expect(e?.userContext).toBe("alice");
    expect(e?.sourceIp).toBe("10.0.0.20");
    expect(e?.destIp).toBe("203.0.113.50");
    expect(e?.destPort).toBe(443);
    expect(e?.protocol).toBe("TCP");
    expect(e?.dnsQuery).toBe("evil.example.net");
    expect(e?.destDomain).toBe("evil.example.net");
    expect(e?.bytesSent).toBe(0n);
    expect(e?.bytesRecv).toBe(0n);
    expect(e?.timestamp?.seconds).toBe(1700000000n);
    expect(e?.timestamp?.nanos).toBe(250_000_000);
  });

  it("keeps an inbound connection initiator to responder, the service port as dest_port", async () => {
    const { events } = await collectEvents(sysmonSource, { input: JSONL });
    const inbound = events[1]?.event;
    expect(inbound?.sourceIp).toBe("198.51.100.7");
    expect(inbound?.destIp).toBe("10.0.0.20");
    expect(inbound?.destPort).toBe(3389);
    // Its event 1 came after it: it waited, and got its hash and parent.
    expect(inbound?.processHash).toBe("11112222333344445555666677778888");
    expect(inbound?.parentProcess).toBe("services.exe");
    expect(inbound?.userContext).toBe("NETWORK SERVICE");
  });

  it("sends a connection whose event 1 never comes with event 3's own fields, counted", async () => {
    const { events, notices } = await collectEvents(sysmonSource, { input: JSONL });
    const svc = events[3]?.event;
    expect(svc?.processPath).toBe("C:\\Windows\\System32\\svchost.exe");
    expect(svc?.processHash).toBe("");
    expect(svc?.parentProcess).toBe("");
    expect(svc?.destDomain).toBe("dns.corp.example");
    expect(svc?.protocol).toBe("UDP");
    expect(notices.some((n) => n.includes("1 of 4 connection(s) had no process creation"))).toBe(
      true,
    );
    expect(notices).toContain(`${JSONL}: passed over 1 event(s) of other providers`);
  });

  it("reads IPv6 with a zone and a string event_id", async () => {
    const { events } = await collectEvents(sysmonSource, { input: JSONL });
    expect(events[2]?.event.sourceIp).toBe("fe80::1c2b:3a4d:5e6f:7081");
    expect(events[2]?.event.destIp).toBe("2001:db8::443");
    expect(events[2]?.event.dnsQuery).toBe("");
  });

  it("skips a garbled line, a bad port and a truncated last line by file:line", async () => {
    const { skips } = await collectEvents(sysmonSource, { input: JSONL });
    expect(skips.map((s) => s.where)).toEqual([`${JSONL}:9`, `${JSONL}:10`, `${JSONL}:11`]);
    expect(skips[0]?.message).toMatch(/^not JSON \(/);
    expect(skips[1]?.message).toBe('DestinationPort "http" is not a port');
    expect(skips[2]?.message).toMatch(/^not JSON \(/);
  });
});

describe("sysmonSource (event XML)", () => {
  it("reads pretty-printed, one-line and several-per-line events in an <Events> export", async () => {
    const { events, skips } = await collectEvents(sysmonSource, { input: XML });
    expect(events).toHaveLength(2);
    const [v4, v6] = events.map((e) => e.event);
    expect(v4?.processPath).toBe("C:\\Users\\bob\\AppData\\Local\\Temp\\a&b.exe");
    expect(v4?.processHash).toBe(
      "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE",
    );
    expect(v4?.parentProcess).toBe("WINWORD.EXE");
    expect(v4?.destIp).toBe("192.0.2.66");
    expect(v4?.destPort).toBe(8443);
    expect(v4?.dnsQuery).toBe("c2.example.org");
    expect(v6?.destIp).toBe("2001:db8::66");
    expect(v6?.dnsQuery).toBe("c2.example.org");
    expect(v6?.protocol).toBe("UDP");
    expect(skips).toEqual([
      { where: `${XML}:17`, message: "text outside an <Event> element" },
      { where: `${XML}:20`, message: "<Event> never closed: the file ends inside it" },
    ]);
  });
});

describe("XmlEventSplitter", () => {
  it("cuts events across and within lines", () => {
    const s = new XmlEventSplitter();
    expect(s.push("<Event><System>", 1).events).toEqual([]);
    expect(s.push("<EventID>3</EventID></System></Event><Event>x</Event><Ev", 2).events).toEqual([
      { xml: "<Event><System>\n<EventID>3</EventID></System></Event>", line: 1 },
      { xml: "<Event>x</Event>", line: 2 },
    ]);
  });
});

describe("queryResultAddresses()", () => {
  it("unmaps ::ffff: addresses and drops CNAME records", () => {
    expect(
      queryResultAddresses("type:  5 edge.example.net;::ffff:13.107.21.200;2001:db8::1;"),
    ).toEqual(["13.107.21.200", "2001:db8::1"]);
  });
});

describe("pickHash()", () => {
  it("prefers SHA256, then SHA1, then MD5", () => {
    expect(pickHash("SHA1=AA,MD5=BB,SHA256=CC,IMPHASH=DD")).toBe("CC");
    expect(pickHash("MD5=BB,SHA1=AA")).toBe("AA");
    expect(pickHash("MD5=BB")).toBe("BB");
    expect(pickHash("")).toBe("");
  });
});
