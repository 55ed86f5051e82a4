import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { removeOnCleanup } from "./netns.js";
import { run, sleep, start, stop } from "./proc.js";

/**
 * Short flow timeouts, so a finished connection is exported within seconds
 * rather than softflowd's defaults (an hour for TCP); `expint` is how often
 * it looks for expired flows.
 */
const TIMEOUTS = [
  "tcp=30",
  "tcp.rst=2",
  "tcp.fin=2",
  "udp=5",
  "icmp=5",
  "general=30",
  "expint=2",
].flatMap((t) => ["-t", t]);

/**
 * softflowd 1.1.0's control socket path, at most 12 characters: with a longer
 * one, `softflowd -r` blocks in accept() on the socket before reading the
 * capture (seen on Debian's 1.1.0-1: /tmp/abcdefg works, /tmp/abcdefgh hangs).
 * The pid in base 36 keeps it unique per run.
 */
function ctlPath(tag: string): string {
  const path = `/tmp/n${process.pid.toString(36)}${tag}`;
  removeOnCleanup(path);
  return path;
}

/** A softflowd exporting live from an interface. */
export interface Exporter {
  version: 9 | 10;
  /**
   * Resolves once softflowd answers on its control socket with its capture's
   * statistics, so its capture is open and sees what the lab sends next.
   */
  ready(timeoutMs: number): Promise<void>;
  /** Exports every flow it tracks now (`softflowctl expire-all`). */
  expireAll(): Promise<void>;
  /**
   * Exports what is left and ends.
   * @returns the packets softflowd's capture lost (libpcap and interface drops), by its own count.
   */
  finish(): Promise<{ dropped: number }>;
  stderrTail(): string;
}

/**
 * Starts softflowd on `ifname` inside `ns`, exporting NetFlow v9 or IPFIX
 * (v10) to `collector` (`HOST:PORT`).
 */
export function startExporter(
  ns: string,
  ifname: string,
  collector: string,
  version: 9 | 10,
  dir: string,
): Exporter {
  const ctl = ctlPath(version === 9 ? "9" : "x");
  const child = start(
    "softflowd",
    [
      "-d",
      "-i",
      ifname,
      "-n",
      collector,
      "-v",
      String(version),
      "-c",
      ctl,
      "-p",
      join(dir, `softflowd-v${version}.pid`),
      // A 64 MiB capture buffer, as tcpdump's: a burst under load is not dropped.
      "-B",
      String(64 * 1024 * 1024),
      ...TIMEOUTS,
    ],
    { ns },
  );
  const ctlCommand = (command: string) =>
    run("softflowctl", ["-c", ctl, command], { ns, check: false, timeoutMs: 10_000 });
  return {
    version,
    stderrTail: () => child.stderrTail(),
    async ready(timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`softflowd v${version} exited: ${child.stderrTail().slice(-600)}`);
        }
        const r = await ctlCommand("statistics");
        if (/Packets received by libpcap/.test(r.stdout)) return;
        if (Date.now() > end) {
          throw new Error(
            `softflowd v${version} did not answer on ${ctl} in ${timeoutMs} ms: ${child.stderrTail().slice(-600)}`,
          );
        }
        await sleep(100);
      }
    },
    async expireAll() {
      await ctlCommand("expire-all");
    },
    async finish() {
      const stats = await ctlCommand("statistics");
      const n = (what: string) =>
        Number(new RegExp(`Packets dropped by ${what}: (\\d+)`).exec(stats.stdout)?.[1] ?? 0);
      // "shutdown" exports every flow and exits; a stop afterwards is only a fallback.
      await ctlCommand("shutdown");
      await waitExit(child, 5000);
      await stop(child);
      return { dropped: n("libpcap") + n("interface") };
    },
  };
}

async function waitExit(child: ChildProcess, ms: number): Promise<void> {
  for (let t = 0; t < ms && child.exitCode === null && child.signalCode === null; t += 100) {
    await sleep(100);
  }
}

/**
 * A tcpdump writing every IPv4 packet on an interface to a pcap file: the
 * first 128 bytes of each (headers; the IP header carries the length every
 * count here uses) into a 64 MiB kernel buffer, so a burst is not dropped.
 */
export function startCapture(ns: string, ifname: string, path: string) {
  const child = start(
    "tcpdump",
    ["-i", ifname, "-n", "-U", "-s", "128", "-B", "65536", "-Z", "root", "-w", path, "ip"],
    { ns },
  );
  return {
    path,
    /**
     * Stops the capture; the file is complete once this returns.
     * @returns tcpdump's own count of packets it captured and the kernel dropped.
     */
    async finish(): Promise<{ captured: number; dropped: number }> {
      await stop(child);
      const tail = child.stderrTail();
      const n = (what: string) =>
        Number(new RegExp(`(\\d+) packets? ${what}`).exec(tail)?.[1] ?? Number.NaN);
      return { captured: n("captured"), dropped: n("dropped by kernel") };
    },
  };
}

/**
 * Replays a capture through softflowd (`-r`) as IPFIX to `collector`; softflowd
 * exits once it has exported every flow in the file.
 *
 * @returns what softflowd printed (its summary: flows exported, packets).
 */
export async function replayCapture(
  ns: string,
  pcap: string,
  collector: string,
  dir: string,
): Promise<string> {
  const r = await run(
    "softflowd",
    [
      "-d",
      "-r",
      pcap,
      "-n",
      collector,
      "-v",
      "10",
      "-c",
      ctlPath("r"),
      "-p",
      join(dir, "softflowd-replay.pid"),
      ...TIMEOUTS,
    ],
    { ns, timeoutMs: 120_000 },
  );
  return r.stdout + r.stderr;
}
