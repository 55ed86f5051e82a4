import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseEndpoint, parseSsLine, SsParseError } from "./ss-parse.js";

const lines = (name: string) =>
  readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8").split("\n");

describe("parseSsLine()", () => {
  it("reads every line of a real poll (ss -tuanpieOH) and destroy stream (ss -tuanieOHE)", () => {
    const poll = lines("ss-poll.txt")
      .map(parseSsLine)
      .filter((r) => r !== undefined);
    const destroyed = lines("ss-destroy.txt")
      .map(parseSsLine)
      .filter((r) => r !== undefined);
    expect(poll).toHaveLength(11);
    expect(destroyed).toHaveLength(14);
    expect(destroyed.every((r) => r.inode === 0 && r.users.length === 0)).toBe(true);
  });

  it("reads a live socket's process, uid, inode and tcp_info counters", () => {
    const curl = parseSsLine(lines("ss-poll.txt")[5] as string);
    expect(curl).toMatchObject({
      proto: "tcp",
      state: "CLOSE-WAIT",
      local: { ip: "127.0.0.1", port: 49392 },
      remote: { ip: "127.0.0.1", port: 18081 },
      users: [{ name: "curl", pid: 18042, fd: 5 }],
      uid: 65534,
      inode: 34679,
      bytesSent: 86n,
      bytesAcked: 87n,
      bytesReceived: 5000206n,
    });
  });

  it("reads IPv6 endpoints and leaves the peer of a listening or unconnected socket undefined", () => {
    const [udp6, listen] = [lines("ss-poll.txt")[1], lines("ss-poll.txt")[2]].map((l) =>
      parseSsLine(l as string),
    );
    expect(udp6).toMatchObject({
      proto: "udp",
      state: "UNCONN",
      local: { ip: "::1", port: 15999 },
    });
    expect(udp6?.remote).toBeUndefined();
    expect(listen?.remote).toBeUndefined();
    const estab6 = parseSsLine(lines("ss-poll.txt")[8] as string);
    expect(estab6).toMatchObject({
      local: { ip: "::1", port: 44344 },
      remote: { ip: "::1", port: 18080 },
      users: [{ name: "curl", pid: 18345, fd: 5 }],
      uid: undefined,
    });
  });

  it("reads an orphaned socket without process or counters", () => {
    const orphan = parseSsLine(lines("ss-poll.txt")[4] as string);
    expect(orphan).toMatchObject({
      state: "FIN-WAIT-2",
      inode: 0,
      users: [],
      bytesSent: undefined,
    });
  });

  it("reads several processes sharing a socket, names with spaces and parentheses", () => {
    const r = parseSsLine(
      'tcp ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000 users:(("sshd: root (x)",pid=7,fd=4),("sshd",pid=9,fd=4)) ino:55 sk:1',
    );
    expect(r?.users).toEqual([
      { name: "sshd: root (x)", pid: 7, fd: 4 },
      { name: "sshd", pid: 9, fd: 4 },
    ]);
  });

  it("returns undefined for a blank line", () => {
    expect(parseSsLine("   ")).toBeUndefined();
  });

  it("rejects a line with too few columns, an unknown netid, a bad port or no inode", () => {
    expect(() => parseSsLine("tcp ESTAB 0 0")).toThrow(/at least 6 columns, got 4/);
    expect(() => parseSsLine("raw UNCONN 0 0 *:* *:* ino:1")).toThrow(/netid "raw"/);
    expect(() => parseSsLine("tcp ESTAB 0 0 1.2.3.4:99999 5.6.7.8:80 ino:1")).toThrow(
      /local address "1.2.3.4:99999" has a bad port/,
    );
    expect(() => parseSsLine("tcp ESTAB 0 0 1.2.3.4:1 5.6.7.8:80 sk:1")).toThrow(SsParseError);
  });
});

describe("parseEndpoint()", () => {
  it("drops interface scopes and brackets, maps *, unmaps IPv4-mapped IPv6", () => {
    expect(parseEndpoint("127.0.0.53%lo:53", "x")).toEqual({ ip: "127.0.0.53", port: 53 });
    expect(parseEndpoint("[fe80::1]%eth0:22", "x")).toEqual({ ip: "fe80::1", port: 22 });
    expect(parseEndpoint("*%lo:53", "x")).toEqual({ ip: "", port: 53 });
    expect(parseEndpoint("*:*", "x")).toEqual({ ip: "", port: 0 });
    expect(parseEndpoint("[::ffff:10.1.2.3]:443", "x")).toEqual({ ip: "10.1.2.3", port: 443 });
  });
});
