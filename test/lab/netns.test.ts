import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createNetwork, NS_PREFIX, sweepStale } from "./netns.js";

const root = process.getuid?.() === 0;
const hasIp = (() => {
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const reason = !root ? "needs root" : !hasIp ? "needs ip (iproute2)" : undefined;
const inCi = process.env.CI === "true";

const namespaces = () => (existsSync("/run/netns") ? readdirSync("/run/netns") : []);

/** A pid no process has: above the kernel's pid_max. */
const DEAD_PID = 2 ** 22 + 1;

describe.skipIf(reason !== undefined && !inCi)("createNetwork()", () => {
  it("joins two namespaces by a veth and removes them both", () => {
    const net = createNetwork(2);
    try {
      expect(namespaces()).toEqual(expect.arrayContaining([net.office.ns, net.servers.ns]));
      const ping = execFileSync(
        "ip",
        ["netns", "exec", net.office.ns, "ping", "-c", "1", "-W", "2", net.servers.ip],
        { encoding: "utf8" },
      );
      expect(ping).toMatch(/1 received/);
      const addrs = execFileSync("ip", ["-n", net.office.ns, "-4", "-br", "addr"], {
        encoding: "utf8",
      });
      for (const ip of [net.office.ip, ...net.extraIps]) expect(addrs).toContain(`${ip}/24`);
      // Nothing of the lab's appears on the host.
      expect(execFileSync("ip", ["-br", "link"], { encoding: "utf8" })).not.toContain(
        net.office.ifname,
      );
    } finally {
      net.destroy();
    }
    expect(namespaces()).not.toContain(net.office.ns);
    expect(namespaces()).not.toContain(net.servers.ns);
    expect(existsSync(`/etc/netns/${net.office.ns}`)).toBe(false);
  });
});

describe.skipIf(reason !== undefined && !inCi)("sweepStale()", () => {
  it("removes a dead run's namespaces and scratch directories, and keeps live ones", () => {
    const stale = `${NS_PREFIX}${DEAD_PID}-office`;
    const live = `${NS_PREFIX}${process.pid}-sweeptest`;
    const dir = `/tmp/na-lab-${DEAD_PID}-test`;
    execFileSync("ip", ["netns", "add", stale]);
    execFileSync("ip", ["netns", "add", live]);
    mkdirSync(dir, { recursive: true });
    try {
      const removed = sweepStale();
      expect(removed).toEqual(expect.arrayContaining([stale, dir]));
      expect(namespaces()).not.toContain(stale);
      expect(namespaces()).toContain(live);
      expect(existsSync(dir)).toBe(false);
    } finally {
      execFileSync("ip", ["netns", "del", live]);
    }
  });
});
