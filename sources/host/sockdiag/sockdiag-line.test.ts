import { describe, expect, it } from "vitest";
import { SsParseError } from "../ss-parse.js";
import { parseSockdiagLine } from "./sockdiag-line.js";

describe("parseSockdiagLine()", () => {
  it("reads a polled TCP socket with its owner and counters", () => {
    const line =
      "S t ESTAB 127.0.0.1 8766 127.0.0.1 50650 269e8 1200 1201 5000 218318 1000 16634 4";
    expect(parseSockdiagLine(line)).toEqual({
      kind: "socket",
      record: {
        proto: "tcp",
        state: "ESTAB",
        local: { ip: "127.0.0.1", port: 8766 },
        remote: { ip: "127.0.0.1", port: 50650 },
        users: [{ name: "", pid: 16634, fd: 4 }],
        uid: 1000,
        inode: 218318,
        cookie: "269e8",
        bytesSent: 1200n,
        bytesAcked: 1201n,
        bytesReceived: 5000n,
      },
    });
  });

  it("reads a listener without owner, a UDP socket without counters, and a destroy", () => {
    const listen = parseSockdiagLine("S t LISTEN :: 8766 * 0 269e7 0 0 0 218290 0 - -");
    expect(listen).toMatchObject({
      kind: "socket",
      record: { state: "LISTEN", local: { ip: "::", port: 8766 }, remote: undefined, users: [] },
    });
    const udp = parseSockdiagLine("S u ESTAB ::1 40000 ::1 53 a5a2 - - - 65559 0 11235 3");
    expect(udp).toMatchObject({
      record: {
        proto: "udp",
        bytesSent: undefined,
        bytesAcked: undefined,
        bytesReceived: undefined,
      },
    });
    expect(parseSockdiagLine("D t UNCONN 10.0.0.1 443 10.0.0.2 51000 1f 10 11 900")).toMatchObject({
      kind: "destroy",
      record: { inode: 0, uid: undefined, users: [], cookie: "1f", bytesReceived: 900n },
    });
  });

  it("reads a poll's end and a notice", () => {
    expect(parseSockdiagLine("E 8 106")).toEqual({ kind: "end", sockets: 8, scannedPids: 106 });
    expect(parseSockdiagLine("! no IPv6 sock_diag")).toEqual({
      kind: "notice",
      message: "no IPv6 sock_diag",
    });
  });

  it.each([
    ["", /unknown line kind/],
    ["X t ESTAB", /unknown line kind "X t ESTAB"/],
    ["S t ESTAB 1.2.3.4 80", /S line has 5 fields, expected 15/],
    ["D x UNCONN 1.2.3.4 80 5.6.7.8 9 1 - - -", /protocol "x" is not t or u/],
    ["D t UNCONN 1.2.3.4 99999 5.6.7.8 9 1 - - -", /local port 99999 is out of range/],
    ["D t UNCONN 1.2.3.4 80 5.6.7.8 9 1 12a - -", /bytes sent "12a" is not a number/],
    ["S t ESTAB 1.2.3.4 80 5.6.7.8 9 1 - - - -5 0 - -", /inode "-5" is not a whole number/],
    ["E x 1", /socket count "x" is not a whole number/],
  ])("refuses %j, saying which field", (line, message) => {
    expect(() => parseSockdiagLine(line)).toThrow(SsParseError);
    expect(() => parseSockdiagLine(line)).toThrow(message);
  });
});
