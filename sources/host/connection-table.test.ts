import { describe, expect, it } from "vitest";
import { type Attribution, createConnectionTable } from "./connection-table.js";
import { parseSsLine, type SsRecord } from "./ss-parse.js";

const ss = (line: string) => parseSsLine(line) as SsRecord;
const LISTEN = ss(
  'tcp LISTEN 0 5 127.0.0.1:8080 0.0.0.0:* users:(("server",pid=10,fd=3)) ino:100 sk:1',
);
const CLIENT = (inode: number, acked: number, received: number) =>
  ss(
    `tcp ESTAB 0 0 127.0.0.1:40000 127.0.0.1:8080 users:(("client",pid=20,fd=5)) ino:${inode} sk:2 <-> ts bytes_sent:${acked} bytes_acked:${acked + 1} bytes_received:${received}`,
  );
const DESTROY_CLIENT = (acked: number, received: number, cookie = "2") =>
  ss(
    `tcp UNCONN 0 0 127.0.0.1:40000 127.0.0.1:8080 ino:0 sk:${cookie} ts bytes_sent:${acked + 5} bytes_acked:${acked} bytes_received:${received}`,
  );

function table(reportMs = 60_000) {
  const attributed: number[] = [];
  const t = createConnectionTable({
    reportMs,
    closeGraceMs: 100,
    maxConnections: 4,
    attribute: async (pid): Promise<Attribution> => {
      attributed.push(pid);
      return { path: `/bin/p${pid}`, hash: "", parent: "", user: "u" };
    },
  });
  return { t, attributed };
}

describe("createConnectionTable()", () => {
  it("reports a polled connection once at its destroy event, with the final counters and its process", async () => {
    const { t } = table();
    t.applyPoll([LISTEN, CLIENT(200, 50, 1000)], 0);
    t.applyDestroy(DESTROY_CLIENT(60, 5000), 500);
    expect(t.takeDue(550)).toEqual([]);
    const [due, ...rest] = t.takeDue(600);
    expect(rest).toEqual([]);
    expect(due?.reason).toBe("close");
    expect(due?.connection).toMatchObject({
      outbound: true,
      sent: 60n,
      recv: 5000n,
      attributedBy: "socket",
    });
    expect(await due?.connection.attribution).toMatchObject({ path: "/bin/p20" });
    t.applyPoll([LISTEN], 1000);
    expect(t.takeDue(2000)).toEqual([]);
  });

  it("counts bytes_sent, not bytes_acked, when it is the smaller (the acked FIN)", () => {
    const { t } = table();
    t.applyPoll([CLIENT(200, 50, 10)], 0);
    t.applyPoll([], 1000);
    expect(t.takeDue(2000)[0]?.connection.sent).toBe(50n);
  });

  it("reports a connection that vanished from a poll with its last counters", () => {
    const { t } = table();
    t.applyPoll([LISTEN, CLIENT(200, 50, 1000)], 0);
    t.applyPoll([LISTEN], 1000);
    const due = t.takeDue(1100);
    expect(due.map((d) => [d.reason, d.connection.sent, d.connection.recv])).toEqual([
      ["close", 50n, 1000n],
    ]);
  });

  it("takes the final counters of a destroy event that arrives just after the vanishing poll", () => {
    const { t } = table();
    t.applyPoll([CLIENT(200, 50, 1000)], 0);
    t.applyPoll([], 1000);
    t.applyDestroy(DESTROY_CLIENT(70, 2000), 1010);
    const due = t.takeDue(1200);
    expect(due.map((d) => [d.connection.sent, d.connection.recv])).toEqual([[70n, 2000n]]);
    expect(t.takeDue(2000)).toEqual([]);
  });

  it("drops a destroy event that arrives after its vanished connection was reported", () => {
    const { t } = table();
    t.applyPoll([CLIENT(200, 50, 1000)], 0);
    t.applyPoll([], 1000);
    expect(t.takeDue(1200)).toHaveLength(1);
    t.applyDestroy(DESTROY_CLIENT(70, 2000), 1300);
    expect(t.takeDue(1500)).toEqual([]);
    expect(t.stats.duplicates).toBe(1);
  });

  it("gives an inbound connection too short for a poll its listener's process, an outbound one none", async () => {
    const { t } = table();
    t.applyPoll([LISTEN], 0);
    t.applyDestroy(
      ss("tcp UNCONN 0 0 127.0.0.1:8080 127.0.0.1:40001 ino:0 sk:3 bytes_acked:9 bytes_received:3"),
      10,
    );
    t.applyDestroy(
      ss("tcp UNCONN 0 0 127.0.0.1:40001 127.0.0.1:8080 ino:0 sk:4 bytes_acked:3 bytes_received:9"),
      10,
    );
    const due = t.takeDue(200);
    const inbound = due.find((d) => !d.connection.outbound)?.connection;
    const outbound = due.find((d) => d.connection.outbound)?.connection;
    expect(inbound?.attributedBy).toBe("listener");
    expect(await inbound?.attribution).toMatchObject({ path: "/bin/p10" });
    expect(outbound?.attributedBy).toBe("none");
    expect(outbound?.attribution).toBeUndefined();
    expect(t.stats).toMatchObject({ shortViaListener: 1, shortUnattributed: 1 });
  });

  it("ignores destroyed sockets that never had a peer", () => {
    const { t } = table();
    t.applyDestroy(ss("udp UNCONN 0 -1 0.0.0.0:58915 0.0.0.0:* ino:0 sk:27"), 0);
    expect(t.takeDue(1000)).toEqual([]);
  });

  it("reports a long-lived connection every interval with the bytes since the last report", () => {
    const { t } = table(1000);
    t.applyPoll([CLIENT(200, 50, 1000)], 0);
    const first = t.takeDue(1000);
    expect(first.map((d) => d.reason)).toEqual(["interval"]);
    t.markReported(first[0]?.connection as never, 1000);
    t.applyPoll([CLIENT(200, 80, 1500)], 1500);
    expect(t.takeDue(1600)).toEqual([]);
    const second = t.takeDue(2000)[0]?.connection;
    expect([
      (second?.sent ?? 0n) - (second?.reportedSent ?? 0n),
      (second?.recv ?? 0n) - (second?.reportedRecv ?? 0n),
    ]).toEqual([30n, 500n]);
  });

  it("tells a reused 4-tuple apart by its inode, and keeps the entry of a socket orphaned to inode 0", () => {
    const { t } = table();
    t.applyPoll([CLIENT(200, 50, 1000)], 0);
    t.applyPoll([ss("tcp FIN-WAIT-2 0 0 127.0.0.1:40000 127.0.0.1:8080 ino:0 sk:2")], 1000);
    expect(t.takeDue(2000)).toEqual([]);
    t.applyPoll([CLIENT(300, 5, 5)], 3000);
    const due = t.takeDue(3200);
    expect(due.map((d) => [d.connection.inode, d.connection.sent])).toEqual([[200, 50n]]);
    expect(t.stats.live).toBe(1);
  });

  it("holds at most maxConnections and counts what it dropped", () => {
    const { t } = table();
    const many = [1, 2, 3, 4, 5, 6].map((i) =>
      ss(`tcp ESTAB 0 0 10.0.0.1:${1000 + i} 10.0.0.2:443 ino:${i} sk:${i}`),
    );
    t.applyPoll(many, 0);
    expect(t.stats).toMatchObject({ live: 4, evicted: 2 });
  });
});

describe("createConnectionTable() with reused 4-tuples", () => {
  it("drops a second destroy event of a socket already reported, however late, by its cookie", () => {
    const { t } = table();
    t.applyPoll([CLIENT(200, 50, 1000)], 0);
    t.applyDestroy(DESTROY_CLIENT(60, 1500), 400);
    expect(t.takeDue(600)).toHaveLength(1);
    // The same socket's close, seen again ten seconds later (lab: an rsync's ssh
    // reported by its poll and, later, once more by a late destroy).
    t.applyDestroy(DESTROY_CLIENT(55, 1400), 10_000);
    expect(t.takeDue(10_500)).toEqual([]);
    expect(t.stats.duplicates).toBe(1);
  });

  it("does not reopen a socket that a poll taken before its destroy event still shows", () => {
    // The poll's ss ran before the close; its output is applied after the
    // destroy event, and before or after that close was reported.
    for (const takenBetween of [false, true]) {
      const { t } = table();
      t.applyPoll([LISTEN, CLIENT(200, 50, 1000)], 0);
      t.applyDestroy(DESTROY_CLIENT(60, 5000), 500);
      const early = takenBetween ? t.takeDue(600) : [];
      t.applyPoll([LISTEN, CLIENT(200, 50, 1000)], 650);
      const due = [...early, ...t.takeDue(700)];
      expect(due.map((d) => d.connection.sent)).toEqual([60n]);
      t.applyPoll([LISTEN], 1000);
      expect(t.takeDue(2000)).toEqual([]);
      expect(t.stats.duplicates).toBe(1);
    }
  });

  it("reports each connection of a 4-tuple reused at once (tcp_tw_reuse), not only the first", () => {
    const { t } = table();
    // A reused 4-tuple is a new socket: a new cookie.
    t.applyDestroy(DESTROY_CLIENT(10, 10, "a1"), 0);
    t.applyDestroy(DESTROY_CLIENT(20, 20, "a2"), 50);
    expect(t.takeDue(400).map((d) => d.connection.sent)).toEqual([10n, 20n]);
    t.applyDestroy(DESTROY_CLIENT(30, 30, "a3"), 500);
    expect(t.takeDue(1000).map((d) => d.connection.sent)).toEqual([30n]);
    expect(t.stats.duplicates).toBe(0);
  });
});

describe("createConnectionTable() socket owners", () => {
  it("keeps the uid a poll showed on the live socket, and none for a socket only seen destroyed", () => {
    const { t } = table();
    t.applyPoll(
      [
        ss("tcp ESTAB 0 0 127.0.0.1:40000 127.0.0.1:8080 uid:65534 ino:7 sk:1"),
        ss("tcp ESTAB 0 0 127.0.0.1:40002 127.0.0.1:8080 ino:8 sk:2"),
      ],
      0,
    );
    t.applyDestroy(ss("tcp UNCONN 0 0 127.0.0.1:40004 127.0.0.1:8080 ino:0 sk:3"), 50);
    t.applyPoll([], 100);
    const uids = t.takeDue(1000).map((d) => [d.connection.local.port, d.connection.uid]);
    expect(uids).toEqual([
      [40004, undefined],
      [40000, 65534],
      [40002, 0],
    ]);
  });
});
