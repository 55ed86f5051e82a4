import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { killAll } from "./proc.js";

/** Every namespace the lab creates starts with this, then the creating process's pid. */
export const NS_PREFIX = "na-";

/** One end of the lab's wire: a namespace, its veth and its address. */
export interface LabHost {
  ns: string;
  ifname: string;
  /** The host's address on the veth (10.203.0.0/24, private to the namespaces). */
  ip: string;
}

/** Two namespaces joined by a veth pair; `destroy` removes both (idempotent). */
export interface LabNetwork {
  office: LabHost;
  servers: LabHost;
  /** Extra addresses on the office veth, one per attack, so flow records can be labelled. */
  extraIps: string[];
  destroy(): void;
}

/** The lab's /24, inside the namespaces only. */
export const LAB_NET = "10.203.0";

const created = new Set<string>();
const dirs = new Set<string>();

/** Prefix of the lab's scratch directories, followed by the creating process's pid. */
const DIR_PREFIX = "/tmp/na-lab-";

/**
 * Makes a scratch directory `/tmp/na-lab-PID-XXXXXX`, removed with the
 * namespaces (`removeAll`, the exit hooks) or by a later run's `sweepStale`.
 */
export function createScratchDir(): string {
  hookExit();
  const dir = mkdtempSync(`${DIR_PREFIX}${process.pid}-`);
  dirs.add(dir);
  return dir;
}

const files = new Set<string>();

/** A file outside the scratch directory (softflowd's control socket) removed with the rest. */
export function removeOnCleanup(path: string): void {
  hookExit();
  files.add(path);
}

/** Removes a scratch directory made by `createScratchDir`. Never throws. */
export function removeScratchDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}
let hooked = false;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Removes a namespace: kills the processes inside it (all started by this
 * lab), deletes it and its `/etc/netns/NS` resolver directory. Never throws.
 */
export function removeNamespace(ns: string): void {
  try {
    const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
      .split(/\s+/)
      .filter((p) => /^\d+$/.test(p));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  } catch {
    // no such namespace
  }
  try {
    ip("netns", "del", ns);
  } catch {
    // already gone
  }
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  created.delete(ns);
}

/** Removes every namespace this process created; used by `destroy` and the exit hooks. */
export function removeAll(): void {
  killAll();
  for (const ns of [...created]) removeNamespace(ns);
  for (const dir of [...dirs]) removeScratchDir(dir);
  for (const file of files) rmSync(file, { force: true });
  files.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", removeAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      removeAll();
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
}

/**
 * Removes namespaces and scratch directories left by lab runs that were
 * killed before they could clean up: `na-PID-…` and `/tmp/na-lab-PID-…`
 * whose PID is no longer running.
 *
 * @returns the names removed.
 */
export function sweepStale(): string[] {
  const names = safeReaddir("/run/netns");
  const removed: string[] = [];
  for (const name of safeReaddir("/tmp")) {
    const m = /^na-lab-(\d+)-/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    removeScratchDir(`/tmp/${name}`);
    removed.push(`/tmp/${name}`);
  }
  for (const ns of names) {
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(ns);
    if (!m) continue;
    if (alive(Number(m[1]))) continue;
    removeNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Creates the lab's two hosts, `na-PID-office` and `na-PID-servers`, joined
 * by a veth pair (10.203.0.1 and 10.203.0.2/24), loopback up in both, and
 * writes `/etc/netns/NS/resolv.conf` so programs in the office resolve
 * through the servers host. Names carry this process's pid, so concurrent
 * runs never collide and `sweepStale` can tell a dead run's leftovers.
 *
 * @param extraIps how many more addresses to put on the office veth (.11, .12, …).
 */
export function createNetwork(extraIps = 0): LabNetwork {
  hookExit();
  const pid = process.pid;
  const office: LabHost = {
    ns: `${NS_PREFIX}${pid}-office`,
    ifname: `na${pid}o`,
    ip: `${LAB_NET}.1`,
  };
  const servers: LabHost = {
    ns: `${NS_PREFIX}${pid}-servers`,
    ifname: `na${pid}s`,
    ip: `${LAB_NET}.2`,
  };
  const extra = Array.from({ length: extraIps }, (_, i) => `${LAB_NET}.${11 + i}`);
  const destroy = () => {
    removeNamespace(office.ns);
    removeNamespace(servers.ns);
  };
  try {
    for (const host of [office, servers]) {
      ip("netns", "add", host.ns);
      created.add(host.ns);
      ip("-n", host.ns, "link", "set", "lo", "up");
      // IPv4 only: no link-local IPv6 chatter in the capture or the flows.
      execFileSync("ip", [
        "netns",
        "exec",
        host.ns,
        "sysctl",
        "-qw",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
      ]);
    }
    // Created inside the office namespace, so no interface ever appears on the host.
    ip(
      "-n",
      office.ns,
      "link",
      "add",
      office.ifname,
      "type",
      "veth",
      "peer",
      "name",
      servers.ifname,
    );
    ip("-n", office.ns, "link", "set", servers.ifname, "netns", servers.ns);
    for (const host of [office, servers]) {
      ip("-n", host.ns, "addr", "add", `${host.ip}/24`, "dev", host.ifname);
      ip("-n", host.ns, "link", "set", host.ifname, "up");
    }
    for (const a of extra) ip("-n", office.ns, "addr", "add", `${a}/24`, "dev", office.ifname);
    for (const host of [office, servers]) {
      mkdirSync(`/etc/netns/${host.ns}`, { recursive: true });
      writeFileSync(`/etc/netns/${host.ns}/resolv.conf`, `nameserver ${servers.ip}\n`);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return { office, servers, extraIps: extra, destroy };
}
