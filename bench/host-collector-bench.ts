/**
 * CPU cost of the host collector (`sources/host/`) while a bounded
 * load opens new TCP connections at fixed rates (issue 16's goal: under 2 %
 * of one core at 1,000 new connections/s).
 *
 * The collector runs in this process, consuming its events as the agent
 * would. Its cost over each window is the sum of
 * - this process's own CPU: its threads' run time (`/proc/self/task/TID/schedstat`,
 *   see `agentSeconds`), or `process.cpuUsage()` without schedstat,
 * - its reaped children's CPU (`cutime`+`cstime` of `/proc/self/stat`),
 * - its long-running children's CPU and their reaped children's
 *   (`utime`+`stime`+`cutime`+`cstime` of `/proc/PID/stat`): the shell that
 *   runs an `ss` poll each interval, the `ss -E` destroy watcher and the
 *   `tcpdump` capture,
 * divided by the window's wall time: percent of one core. The load runs in
 * a child (`host-load.mjs`) kept alive until the window is read, so its own
 * CPU is never reaped into ours.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { createHostCollector } from "../sources/host/host-source.js";
import { startNetnsPeer } from "./peer-netns.js";

/** Options of {@link runHostCollectorBench}. */
export interface HostCollectorBenchOptions {
  /** New connections per second, one window each; default [0, 100, 1000] (0: idle baseline). */
  rates?: number[];
  /** Window length, seconds; default 10. */
  seconds?: number;
  /** The collector's poll interval, seconds; default 1 (the agent's default). */
  intervalS?: number;
  /** The socket lister (see `HostCollectorOptions.lister`); default the collector's own (`auto`). */
  lister?: "auto" | "sockdiag" | "ss";
  /**
   * Where the load's server runs: `netns`, a peer namespace over a veth
   * (one socket per connection here, like connections to other machines),
   * or `loopback` (two: the client's and the server's); default `netns`.
   */
  peer?: "netns" | "loopback";
  /** Run the DNS/UDP capture too; default true (as `--source host` does). */
  capture?: boolean;
  /** Progress lines; default stderr. */
  log?: (line: string) => void;
}

/** One window's figures. */
export interface HostCollectorBenchRow {
  rate: number;
  /** The lister the collector ran: the sockdiag helper or ss. */
  lister: string;
  /** Wall time measured: the load plus 2.5 s (a poll, the 500 ms hold of a close and the helper's 100 ms batches) for its last closes to be reported. */
  seconds: number;
  /** Connections the load completed. */
  connections: number;
  /** Events the collector emitted in the window (one per connection to the peer namespace, two per loopback connection). */
  events: number;
  /** Percent of one core: all of it, then the parts. */
  cpuPercent: number;
  /** The agent process (the collector's JavaScript, its threads, children it reaped). */
  agentPercent: number;
  /** The socket lister: the sockdiag helper, or the shell running `ss -tuanpieOH` each interval with its `ss` runs. */
  listerPercent: number;
  /** `ss -tuanieOHE`, the destroy watcher, when ss is the lister (the helper does both). */
  ssDestroyPercent: number;
  /** `tcpdump`, the DNS/UDP capture. */
  capturePercent: number;
  /** Socket-destroy events read in the window (two per loopback connection if none is lost). */
  destroyEvents: number;
  /** Connections closed before a poll saw them, outbound, so without process. */
  shortUnattributed: number;
}

/** USER_HZ, the unit of `/proc/PID/stat` times: 100 on every Linux architecture Node runs on. */
const CLK_TCK = 100;

/**
 * Runs the windows in order (after a 10 s warm-up at the highest rate, which hashes the load's
 * executable once) and returns one row per rate. Linux only; as root it
 * measures the full collector (attribution, capture). Each window is
 * `seconds` of load plus 2.5 s for the last closes; 1,000/s for 10 s leaves
 * about 10,000 loopback sockets in TIME-WAIT.
 */
export async function runHostCollectorBench(
  options: HostCollectorBenchOptions = {},
): Promise<HostCollectorBenchRow[]> {
  const rates = options.rates ?? [0, 100, 1000];
  const seconds = options.seconds ?? 10;
  const log = options.log ?? ((line: string) => process.stderr.write(`host-bench: ${line}\n`));
  const abort = new AbortController();
  const notices: string[] = [];
  const collector = createHostCollector(
    { intervalS: options.intervalS ?? 1, capture: options.capture ?? true, lister: options.lister },
    { signal: abort.signal, onSkip: () => {}, onNotice: (m) => notices.push(m) },
  );
  let events = 0;
  const consuming = (async () => {
    for await (const _ of collector.events) events++;
  })();
  const rows: HostCollectorBenchRow[] = [];
  const peer = options.peer === "loopback" ? undefined : await startNetnsPeer();
  const startLoad = (rate: number, seconds: number) => startLoadTo(rate, seconds, peer?.target);
  try {
    await collector.ready;
    // Warm-up: the load's executable (node, ~100 MB) is hashed once, when
    // first seen; that one-time cost is not the steady state measured here.
    // It runs at the highest rate measured, so the collector's code is
    // compiled by the optimizing tier before the first window: the steady
    // state of an agent that runs for hours.
    const warm = startLoad(Math.max(20, ...rates), 10);
    await warm.done;
    const warmExit = new Promise((r) => warm.child.once("exit", r));
    warm.child.stdin?.end();
    await warmExit;
    await new Promise((r) => setTimeout(r, 2500));
    for (const rate of rates) {
      const load = rate > 0 ? startLoad(rate, seconds) : undefined;
      const before = await sample(collector.childPids());
      const eventsBefore = events;
      const destroyBefore = collector.stats().destroyEvents;
      const shortBefore = collector.stats().table.shortUnattributed;
      const made = load ? await load.done : await sleepFor(seconds * 1000);
      // Let the last closes pass their grace and be emitted.
      await new Promise((r) => setTimeout(r, 2500));
      const after = await sample(collector.childPids());
      if (load !== undefined) {
        // Reap the load now, so its CPU lands before the next window's first sample.
        const exited = new Promise((r) => load.child.once("exit", r));
        load.child.stdin?.end();
        await exited;
      }
      const wall = (after.wallMs - before.wallMs) / 1000;
      const pct = (s: number) => (100 * s) / wall;
      const lister = collector.stats().lister ?? "none";
      const parts = {
        agent: agentSeconds(before, after),
        lister: after.ssPoll - before.ssPoll,
        destroy: after.ssDestroy - before.ssDestroy,
        capture: after.capture - before.capture,
      };
      const row: HostCollectorBenchRow = {
        rate,
        lister,
        seconds: wall,
        connections: made,
        events: events - eventsBefore,
        cpuPercent: pct(parts.agent + parts.lister + parts.destroy + parts.capture),
        agentPercent: pct(parts.agent),
        listerPercent: pct(parts.lister),
        ssDestroyPercent: pct(parts.destroy),
        capturePercent: pct(parts.capture),
        destroyEvents: collector.stats().destroyEvents - destroyBefore,
        shortUnattributed: collector.stats().table.shortUnattributed - shortBefore,
      };
      rows.push(row);
      log(
        `${rate}/s: ${row.cpuPercent.toFixed(2)} % of one core (agent ${row.agentPercent.toFixed(2)}, ${lister} ${row.listerPercent.toFixed(2)}, ss -E ${row.ssDestroyPercent.toFixed(2)}, tcpdump ${row.capturePercent.toFixed(2)}) over ${wall.toFixed(1)} s; ${made} connections, ${row.destroyEvents} destroy events, ${row.events} events, ${row.shortUnattributed} outbound without process`,
      );
    }
  } finally {
    abort.abort();
    await consuming;
    await peer?.close();
  }
  for (const n of notices) log(`notice: ${n}`);
  return rows;
}

interface CpuSample {
  wallMs: number;
  /** Run time of each live thread of this process, seconds (undefined without schedstat). */
  threads: Map<string, number> | undefined;
  /** Children this process reaped, seconds. */
  reaped: number;
  /** Seconds of CPU. */
  agent: number;
  ssPoll: number;
  ssDestroy: number;
  capture: number;
}

async function sample(pids: {
  poll?: number;
  destroy?: number;
  capture?: number;
}): Promise<CpuSample> {
  const usage = process.cpuUsage();
  const self = await statTimes("/proc/self/stat");
  // A helper's own CPU and that of the children it reaped (the shell's ss runs).
  const helper = async (pid: number | undefined) => {
    if (pid === undefined) return 0;
    const t = await statTimes(`/proc/${pid}/stat`);
    return ((await runNs(pid)) || t.own) + t.reaped;
  };
  const agent = (usage.user + usage.system) / 1e6 + self.reaped;
  const threads = await threadNs();
  const ssPoll = await helper(pids.poll);
  const ssDestroy = await helper(pids.destroy);
  const capture = await helper(pids.capture);
  return {
    wallMs: performance.now(),
    threads,
    reaped: self.reaped,
    agent,
    ssPoll,
    ssDestroy,
    capture,
  };
}

/**
 * Nanoseconds the process's main thread ran (first field of
 * `/proc/PID/schedstat`): exact, where utime+stime are sampled in 10 ms
 * ticks, too coarse for a helper using a few ms a second. Undefined
 * without schedstats. The helpers measured here are single-threaded.
 */
function runNs(pid: number): Promise<number | undefined> {
  return runNsOf(`/proc/${pid}/schedstat`);
}

async function runNsOf(path: string): Promise<number | undefined> {
  try {
    const first = Number((await readFile(path, "utf8")).split(" ")[0]);
    return Number.isFinite(first) ? first / 1e9 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * This process's CPU between two samples: the run time of its threads alive
 * at the second (those born in between from zero) plus the children it
 * reaped. getrusage, the fallback, adds a thread's whole lifetime when it
 * exits, so a start-up worker (tsx's compiler, V8's) that ends inside a
 * window would be charged to that window.
 */
function agentSeconds(before: CpuSample, after: CpuSample): number {
  if (before.threads === undefined || after.threads === undefined)
    return after.agent - before.agent;
  let ran = 0;
  for (const [tid, s] of after.threads) ran += s - (before.threads.get(tid) ?? 0);
  return ran + after.reaped - before.reaped;
}

/** Seconds each thread of this process ran (`/proc/self/task/TID/schedstat`). */
async function threadNs(): Promise<Map<string, number> | undefined> {
  try {
    const out = new Map<string, number>();
    for (const tid of await readdir("/proc/self/task")) {
      const ns = await runNsOf(`/proc/self/task/${tid}/schedstat`);
      if (ns !== undefined) out.set(tid, ns);
    }
    return out.size > 0 ? out : undefined;
  } catch {
    return undefined;
  }
}

/** utime+stime (fields 14, 15) and cutime+cstime (16, 17), in seconds. */
async function statTimes(path: string): Promise<{ own: number; reaped: number }> {
  try {
    const text = await readFile(path, "utf8");
    const f = text
      .slice(text.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    // After the comm field, index 0 is field 3 (state): field n is at n - 3.
    const at = (n: number) => f[n - 3] ?? 0;
    return { own: (at(14) + at(15)) / CLK_TCK, reaped: (at(16) + at(17)) / CLK_TCK };
  } catch {
    return { own: 0, reaped: 0 };
  }
}

function startLoadTo(
  rate: number,
  seconds: number,
  target: string | undefined,
): { child: ChildProcess; done: Promise<number> } {
  const script = new URL("./host-load.mjs", import.meta.url).pathname;
  const args = [script, String(rate), String(seconds), ...(target === undefined ? [] : [target])];
  const child = spawn(process.execPath, args, {
    stdio: ["pipe", "pipe", "inherit"],
    timeout: (seconds + 30) * 1000,
  });
  const done = new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (out.includes("\n") && line !== undefined)
        resolve((JSON.parse(line) as { made: number }).made);
    });
    child.on("exit", (code) => reject(new Error(`host-load exited with ${code} before reporting`)));
  });
  return { child, done };
}

async function sleepFor(ms: number): Promise<number> {
  await new Promise((r) => setTimeout(r, ms));
  return 0;
}
