import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { type NetworkEvent, NetworkEventSchema } from "../../gen/netanomaly/v1/telemetry_pb.js";
import {
  type Agreement,
  attribution,
  flowsVsCapture,
  formatAgreements,
  hostVsPrograms,
  hostVsSs,
} from "./agree.js";
import { ATTACK_NAMES, type AttackRecord, attacks } from "./attacks.js";
import { agentHasPrint, type RunningCollector, startCollector } from "./collectors.js";
import { type DetectionTable, detect, formatTable } from "./detect.js";
import { replayCapture, startCapture, startExporter } from "./flows.js";
import { eventMs, labelAll, NORMAL } from "./label.js";
import {
  createNetwork,
  createScratchDir,
  type LabNetwork,
  removeAll,
  sweepStale,
} from "./netns.js";
import { type ProgramRun, runOffice } from "./office.js";
import { readPcap } from "./pcap.js";
import { run, sleep } from "./proc.js";
import { startServers } from "./servers.js";
import { watchSockets } from "./sockets.js";

/*
 * The lab, as root on Linux with the tools of scripts/install-tools.sh:
 *
 *   npx vitest run test/lab/lab.test.ts          # the test (about 3.5 minutes)
 *   node --import tsx test/lab/lab.ts             # the same run, the report on stdout
 *   LAB_PHASE1_S=30 LAB_PHASE2_S=50 node --import tsx test/lab/lab.ts   # a shorter try
 *
 * Each run writes its report, the programs' own reports and every collected
 * event (with label and score) to test/lab/results/ (gitignored).
 */

/** What a lab run measured. */
export interface LabReport {
  tables: DetectionTable[];
  agreements: Agreement[];
  attacks: AttackRecord[];
  /** Events per collector and phase, and lines it printed that were not events. */
  collected: Record<string, { phase1: number; phase2: number; outside: number; badLines: number }>;
  /** Office programs run, and how many failed. */
  programs: { phase1: number; phase2: number; failed: number };
  capture: { packets: number; skipped: number; conversations: number; dropped: number };
  wallS: number;
  collectorCommand: string;
  /** Everything above as the lab prints it. */
  text: string;
  /** Every program the office ran, as it reported itself. */
  runs: ProgramRun[];
  /** Each stream's events by phase, phase 2's labels and scores, for `writeReport`. */
  dumps: {
    name: string;
    phase1: NetworkEvent[];
    phase2: NetworkEvent[];
    labels: string[];
    scores: Float64Array;
  }[];
}

/** Options of `runLab`. */
export interface LabOptions {
  /** Seconds of office traffic to train on; default 90. */
  phase1S?: number;
  /** Seconds of held-out office traffic, attacks interleaved; default 75 (longer if the attacks need it). */
  phase2S?: number;
  /** Flow collector source name; default "ipfix". */
  flowSource?: string;
  /** Host collector source name; default "host". */
  hostSource?: string;
  /** Progress lines go here; default none. */
  log?: (line: string) => void;
}

/** Quiet seconds between the phases, so no connection straddles them. */
const GAP_MS = 4000;
/** Flow collector ports on the servers host's loopback. */
const FLOW_PORTS = { v9: 2055, ipfix: 4739, replay: 4740 } as const;
/**
 * The host collector's poll interval, seconds: a connection that opens and
 * closes between two polls is seen without its process.
 */
const HOST_INTERVAL_S = 0.25;
/** The user the office programs run as (the lab runs as root). */
const USER = "root";

/**
 * Runs the lab end to end: two namespaces, the servers' services, the host
 * collector in the office, softflowd exporting NetFlow v9 and IPFIX from the
 * servers' end of the wire to flow collectors, a tcpdump of the same wire;
 * phase 1 of office traffic, phase 2 of held-out office traffic with the
 * attacks interleaved; then a model per source trained on phase 1 and
 * scored on phase 2, and the collectors' counts compared with the programs,
 * ss and the capture. Cleans up its namespaces and processes even on failure.
 */
export async function runLab(options: LabOptions = {}): Promise<LabReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const hostSource = options.hostSource ?? "host";
  const flowSource = options.flowSource ?? "ipfix";
  const phase1Ms = (options.phase1S ?? 90) * 1000;
  const phase2Ms = (options.phase2S ?? 75) * 1000;
  const swept = sweepStale();
  if (swept.length > 0) log(`removed stale namespaces ${swept.join(", ")}`);
  const dir = createScratchDir();
  let net: LabNetwork | undefined;
  const collectors: RunningCollector[] = [];
  try {
    net = createNetwork(ATTACK_NAMES.length);
    const files = await startServers(net, dir);
    log(`namespaces ${net.office.ns}, ${net.servers.ns}; services up`);
    const srv = net.servers;
    const capture = startCapture(srv.ns, srv.ifname, join(dir, "lab.pcap"));
    const maxS = Math.ceil((phase1Ms + phase2Ms) / 1000) + 300;
    const host = await startCollector(
      hostSource,
      net.office.ns,
      ["--interval", String(HOST_INTERVAL_S)],
      maxS,
    );
    const v9 = await startCollector(
      flowSource,
      srv.ns,
      ["--listen", `127.0.0.1:${FLOW_PORTS.v9}`],
      maxS,
    );
    const v10 = await startCollector(
      flowSource,
      srv.ns,
      ["--listen", `127.0.0.1:${FLOW_PORTS.ipfix}`],
      maxS,
    );
    collectors.push(host, v9, v10);
    await waitListening(srv.ns, [FLOW_PORTS.v9, FLOW_PORTS.ipfix], collectors);
    // The host collector has no port to probe: give it time to load and take its first poll.
    await sleep(3000);
    for (const c of collectors) {
      if (!c.running())
        throw new Error(`${c.source} collector exited: ${c.stderrTail().slice(-600)}`);
    }
    const exporters = [
      startExporter(srv.ns, srv.ifname, `127.0.0.1:${FLOW_PORTS.v9}`, 9, dir),
      startExporter(srv.ns, srv.ifname, `127.0.0.1:${FLOW_PORTS.ipfix}`, 10, dir),
    ];
    // A conversation sent before an exporter's capture is open would be in the
    // lab's capture and not in that exporter's flows.
    for (const e of exporters) await e.ready(15_000);

    log(`phase 1: ${phase1Ms / 1000} s of office traffic`);
    const watch = new AbortController();
    const ss = watchSockets(net.office.ns, srv.ip, 250, watch.signal);
    const p1Start = Date.now();
    const runs1 = await runOffice(net, files, { durationMs: phase1Ms, seed: 1 });
    const p1End = Date.now();
    watch.abort();
    await sleep(GAP_MS);
    for (const e of exporters) await e.expireAll();

    log(`phase 2: ${phase2Ms / 1000} s of held-out office traffic with the attacks`);
    const p2Start = Date.now();
    const stopOffice = new AbortController();
    const office2 = runOffice(net, files, {
      durationMs: phase2Ms,
      seed: 2,
      signal: stopOffice.signal,
    });
    const attackRecords: AttackRecord[] = [];
    const tools = attacks(net, dir);
    try {
      for (const name of ATTACK_NAMES) {
        await sleep(4000);
        log(`  attack ${name}`);
        attackRecords.push(await tools[name]());
      }
    } catch (e) {
      stopOffice.abort();
      throw e;
    }
    const runs2 = await office2;
    await sleep(GAP_MS);
    const exporterDrops: number[] = [];
    for (const e of exporters) exporterDrops.push((await e.finish()).dropped);
    // The flows softflowd exported at shutdown are read before the collectors stop.
    for (const c of collectors) await c.settled(1500, 20_000);
    const sockets = await ss;
    const hostOut = await host.finish();
    const v9Out = await v9.finish();
    const v10Out = await v10.finish();
    const captured = await capture.finish();

    log("replaying the capture through softflowd -r as IPFIX");
    const replay = await startCollector(
      flowSource,
      srv.ns,
      ["--listen", `127.0.0.1:${FLOW_PORTS.replay}`],
      300,
    );
    collectors.push(replay);
    await waitListening(srv.ns, [FLOW_PORTS.replay], [replay]);
    const replayed = await replayCapture(
      srv.ns,
      capture.path,
      `127.0.0.1:${FLOW_PORTS.replay}`,
      dir,
    );
    await sleep(1500);
    const replayOut = await replay.finish();
    const pcap = readPcap(capture.path);
    const udpDrops = await udpReceiveErrors(srv.ns);

    // Split by time: phase 1 until the middle of the gap, phase 2 after it.
    const cut = p1End + GAP_MS / 2;
    const split = (events: readonly NetworkEvent[]) => {
      const phase1: NetworkEvent[] = [];
      const phase2: NetworkEvent[] = [];
      let outside = 0;
      for (const e of events) {
        const ms = eventMs(e);
        if (ms >= p1Start - 1000 && ms < cut) phase1.push(e);
        else if (ms >= cut) phase2.push(e);
        else outside++;
      }
      return { phase1, phase2, outside };
    };
    const allRuns = [...runs1, ...runs2];
    const normalPaths = new Set(allRuns.map((r) => r.path));
    const streams = [
      { name: `${hostSource} (office host)`, out: hostOut },
      { name: `${flowSource} (NetFlow v9, live)`, out: v9Out },
      { name: `${flowSource} (IPFIX, live)`, out: v10Out },
      { name: `${flowSource} (IPFIX, softflowd -r of the capture)`, out: replayOut },
    ];
    const tables: DetectionTable[] = [];
    const dumps: LabReport["dumps"] = [];
    const collected: LabReport["collected"] = {};
    for (const s of streams) {
      const parts = split(s.out.events);
      collected[s.name] = {
        phase1: parts.phase1.length,
        phase2: parts.phase2.length,
        outside: parts.outside,
        badLines: s.out.badLines,
      };
      const leaked = labelAll(parts.phase1, attackRecords, normalPaths).filter((l) => l !== NORMAL);
      if (leaked.length > 0)
        throw new Error(`${s.name}: ${leaked.length} phase-1 events carry attack labels`);
      if (parts.phase1.length < 2 || parts.phase2.length === 0) {
        throw new Error(
          `${s.name}: ${parts.phase1.length} phase-1 and ${parts.phase2.length} phase-2 events; stderr: ${s.out.stderr.slice(-600)}`,
        );
      }
      const labels = labelAll(parts.phase2, attackRecords, normalPaths);
      const { table, scores } = await detect(s.name, parts.phase1, parts.phase2, labels, dir);
      tables.push(table);
      dumps.push({ name: s.name, phase1: parts.phase1, phase2: parts.phase2, labels, scores });
    }
    const agreements = [
      ...hostVsPrograms(hostOut.events, allRuns, attackRecords, net.office.ip, USER),
      ...hostVsSs(hostOut.events, sockets.connections),
      ...flowsVsCapture("NetFlow v9 live", v9Out.events, pcap, {
        exporterDropped: exporterDrops[0] ?? 0,
      }),
      ...flowsVsCapture("IPFIX live", v10Out.events, pcap, {
        exporterDropped: exporterDrops[1] ?? 0,
      }),
      ...flowsVsCapture("IPFIX from pcap", replayOut.events, pcap, undefined),
    ];
    const attributed = attribution(hostOut.events);
    const wallS = Math.round((Date.now() - started) / 1000);
    const collectorCommand = (await agentHasPrint())
      ? "agent/main.ts --source NAME --print --duration S"
      : "test/lab/collect.ts --source NAME (the agent has no --print yet)";
    const programs = {
      phase1: runs1.length,
      phase2: runs2.length,
      failed: allRuns.filter((r) => !r.ok).length,
    };
    const text = [
      `lab: ${new Date(started).toISOString()}, wall time ${wallS} s, phase 1 ${phase1Ms / 1000} s, phase 2 ${Math.round((Date.now() - p2Start) / 1000)} s incl. teardown`,
      `collectors: ${collectorCommand}`,
      `office programs: ${programs.phase1} in phase 1, ${programs.phase2} in phase 2, ${programs.failed} failed; ss snapshots: ${sockets.snapshots}, connections seen: ${sockets.connections.length}`,
      `capture: ${pcap.packets} packets, ${pcap.conversations.length} conversations, ${pcap.skipped} not IPv4 TCP/UDP`,
      `tcpdump: ${captured.captured} packets captured, ${captured.dropped} dropped by the kernel`,
      `softflowd live (v9, IPFIX): ${exporterDrops.join(", ")} packets dropped by their captures`,
      `softflowd -r: ${/Flows exported:.*/.exec(replayed)?.[0] ?? "no summary"}`,
      `UDP datagrams dropped on the servers host (flow collectors' receive buffers): ${udpDrops}`,
      `host attribution: ${attributed.attributed} of ${attributed.of} office events carry a process (poll every ${HOST_INTERVAL_S} s); sockets listed by ${/listing sockets with ss instead/.test(hostOut.stderr) ? "ss (the sockdiag helper could not be built)" : "the sockdiag helper"}`,
      "attacks:",
      ...attackRecords.map(
        (a) =>
          `  ${a.name.padEnd(20)} ${((a.endMs - a.startMs) / 1000).toFixed(1).padStart(5)} s from ${a.sourceIp} by ${a.processPath}: ${a.detail}`,
      ),
      "events (phase 1 / phase 2 / outside both / unreadable lines):",
      ...Object.entries(collected).map(
        ([k, v]) => `  ${k}: ${v.phase1} / ${v.phase2} / ${v.outside} / ${v.badLines}`,
      ),
      "",
      ...tables.flatMap((t) => [formatTable(t), ""]),
      "agreement:",
      formatAgreements(agreements),
    ].join("\n");
    return {
      tables,
      agreements,
      attacks: attackRecords,
      collected,
      programs,
      capture: {
        packets: pcap.packets,
        skipped: pcap.skipped,
        conversations: pcap.conversations.length,
        dropped: captured.dropped,
      },
      wallS,
      collectorCommand,
      text,
      dumps,
      runs: allRuns,
    };
  } finally {
    for (const c of collectors) if (c.running()) await c.finish().catch(() => undefined);
    // Namespaces (and what runs in them), the scratch directory, softflowd's sockets.
    removeAll();
  }
}

/** UDP datagrams the namespace's kernel dropped for a full receive buffer (/proc/net/snmp). */
async function udpReceiveErrors(ns: string): Promise<number> {
  const { stdout } = await run("cat", ["/proc/net/snmp"], { ns });
  const [names, values] = stdout.split("\n").filter((l) => l.startsWith("Udp:"));
  const i = (names ?? "").split(/\s+/).indexOf("RcvbufErrors");
  return Number((values ?? "").split(/\s+/)[i] ?? Number.NaN);
}

async function waitListening(ns: string, ports: readonly number[], collectors: RunningCollector[]) {
  for (let i = 0; i < 150; i++) {
    for (const c of collectors) {
      if (!c.running())
        throw new Error(`${c.source} collector exited: ${c.stderrTail().slice(-600)}`);
    }
    const r = await run("ss", ["-lunH"], { ns, check: false });
    if (ports.every((p) => r.stdout.includes(`:${p} `))) return;
    await sleep(200);
  }
  throw new Error(`no collector listening on ${ports.join(", ")} within 30 s`);
}

/** Writes the report to `test/lab/results/` and returns the file's path. */
export function writeReport(report: LabReport): string {
  const dir = join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const path = join(dir, `lab-${stamp}.txt`);
  writeFileSync(path, `${report.text}\n`);
  writeFileSync(join(dir, "latest.txt"), `${report.text}\n`);
  writeFileSync(
    join(dir, "programs.jsonl"),
    `${[...report.runs, ...report.attacks].map((r) => JSON.stringify(r)).join("\n")}\n`,
  );
  // The events themselves, for a look at what was (not) flagged.
  for (const d of report.dumps) {
    const file = join(dir, `events-${d.name.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "")}.jsonl`);
    const lines = [
      ...d.phase1.map((e) =>
        JSON.stringify({ phase: 1, ...(toJson(NetworkEventSchema, e) as object) }),
      ),
      ...d.phase2.map((e, i) =>
        JSON.stringify({
          phase: 2,
          label: d.labels[i],
          score: d.scores[i],
          ...(toJson(NetworkEventSchema, e) as object),
        }),
      ),
    ];
    writeFileSync(file, `${lines.join("\n")}\n`);
  }
  return path;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runLab({
    phase1S: Number(process.env.LAB_PHASE1_S ?? 90),
    phase2S: Number(process.env.LAB_PHASE2_S ?? 75),
    log: (line) => process.stderr.write(`lab: ${line}\n`),
  })
    .then((report) => {
      process.stdout.write(`${report.text}\n`);
      process.stderr.write(`lab: wrote ${writeReport(report)}\n`);
    })
    .catch((e: unknown) => {
      process.stderr.write(`lab: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    });
}
