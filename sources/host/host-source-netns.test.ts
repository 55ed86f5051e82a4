import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetworkEvent } from "../../gen/netanomaly/v1/telemetry_pb.js";
import { createHostCollector, type HostCollector } from "./host-source.js";

/**
 * The host collector pointed at a network namespace (`netns`), as the lab
 * runs it: a namespace of its own with IPv6 switched off, a Node peer and
 * curl inside it. The collector says once that IPv6 is off, sees the
 * namespace's connection with curl's executable, and none of the host's.
 * The namespace is deleted in afterAll, also when a test fails.
 */

const inCI = process.env.CI === "true";
const has = (tool: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`]);
    return true;
  } catch {
    return false;
  }
};
const canRun =
  process.platform === "linux" &&
  process.getuid?.() === 0 &&
  ["ip", "ss", "curl", "stdbuf", "tcpdump"].every(has);
const NS = `nah-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
const peerScript = fileURLToPath(new URL("./testdata/loopback-peer.mjs", import.meta.url));

function nextMessage(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} message in 15 s`)), 15_000);
    child.on("message", function on(m: Record<string, unknown>) {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off("message", on);
      resolve(m);
    });
  });
}

describe.skipIf(!canRun && !inCI)("createHostCollector({ netns })", () => {
  const events: NetworkEvent[] = [];
  const notices: string[] = [];
  const abort = new AbortController();
  const children: ChildProcess[] = [];
  let collector: HostCollector;
  let polls = 0;

  beforeAll(async () => {
    execFileSync("ip", ["netns", "add", NS]);
    execFileSync("ip", [
      "netns",
      "exec",
      NS,
      "sh",
      "-c",
      "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1 && ip link set lo up",
    ]);
    collector = createHostCollector(
      {
        netns: NS,
        intervalS: 0.2,
        onPoll: ({ count }) => {
          polls = count;
        },
      },
      { signal: abort.signal, onSkip: () => {}, onNotice: (m) => notices.push(m) },
    );
    void (async () => {
      for await (const { event } of collector.events) events.push(event);
    })();
    await collector.ready;
  });

  afterAll(() => {
    abort.abort();
    for (const child of children) child.kill();
    execFileSync("ip", ["netns", "del", NS]);
  });

  it("says once that IPv6 is off in the namespace", () => {
    expect(notices.filter((n) => n.includes("IPv6 is not enabled"))).toEqual([
      `host: IPv6 is not enabled in namespace ${NS} (no IPv6 address): only IPv4 connections are collected`,
    ]);
    expect(collector.stats().ipv6).toBe(false);
  });

  it("sees a connection inside the namespace with its executable, and nothing from outside", async () => {
    const peer = fork(peerScript, ["127.0.0.1", "100000"], {
      execPath: "ip",
      execArgv: ["netns", "exec", NS, process.execPath],
      stdio: "ignore",
    });
    children.push(peer);
    const { tcpPort } = await nextMessage(peer, "listening");
    const curl = spawn("ip", [
      "netns",
      "exec",
      NS,
      "curl",
      "-s",
      "-o",
      "/dev/null",
      `http://127.0.0.1:${tcpPort}/`,
    ]);
    children.push(curl);
    await nextMessage(peer, "accepted");
    const seenAt = polls;
    while (polls < seenAt + 2) await new Promise((r) => setTimeout(r, 50));
    peer.send("finish");
    await new Promise((r) => curl.once("exit", r));
    const curlPath = realpathSync(
      execFileSync("sh", ["-c", "command -v curl"], { encoding: "utf8" }).trim(),
    );
    const deadline = Date.now() + 15_000;
    // Both ends: curl's side and the peer's.
    while (events.filter((e) => e.destPort === tcpPort).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const hit = events.find((e) => e.destPort === tcpPort && e.processPath === curlPath);
    expect(hit).toMatchObject({ sourceIp: "127.0.0.1", destIp: "127.0.0.1", protocol: "TCP" });
    // The namespace holds only this test's sockets: no event names another port.
    expect(events.map((e) => e.destPort).filter((p) => p !== tcpPort)).toEqual([]);
    expect(events.filter((e) => e.destPort === tcpPort)).toHaveLength(2);
  });
});
