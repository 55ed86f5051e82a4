/**
 * A real Apache Kafka broker for tests (scripts/kafka-broker.sh, KRaft, on
 * 127.0.0.1 only) and the few client calls the Kafka tests and bench share:
 * topics, end offsets, a group's committed offsets, reading a topic whole.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { Admin, Consumer, type Message } from "@platformatic/kafka";
import { within } from "../kafka/bounded.js";

export const ROOT = join(import.meta.dirname, "..");

/** Where scripts/kafka-jars.sh caches the broker's jars. */
export const KAFKA_JARS =
  process.env.NETANOMALY_KAFKA_JARS || join(homedir(), ".cache/netanomaly/kafka-jars");

/** Why the Kafka tests cannot run here, or undefined when they can (Java and the jars). */
export function kafkaMissing(): string | undefined {
  try {
    execFileSync("java", ["-version"], { stdio: "ignore" });
  } catch {
    return "java not found (Java 17: apt-get install openjdk-17-jre-headless)";
  }
  if (!existsSync(join(KAFKA_JARS, ".complete")))
    return `no Kafka jars in ${KAFKA_JARS} (run scripts/kafka-jars.sh)`;
  return undefined;
}

/** A loopback TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function script(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [join(ROOT, "scripts/kafka-broker.sh"), ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`kafka-broker.sh ${args[0]}: exit ${code}\n${err}`)),
    );
  });
}

/** One broker in `dir` on 127.0.0.1:`port` (controller on another free port). */
export class LocalBroker {
  constructor(
    readonly dir: string,
    readonly port: number,
    readonly controllerPort: number,
  ) {}

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  private env() {
    return {
      KAFKA_PORT: String(this.port),
      KAFKA_CONTROLLER_PORT: String(this.controllerPort),
      NETANOMALY_KAFKA_JARS: KAFKA_JARS,
    };
  }

  /** Starts (formatting `dir` the first time) and resolves once it accepts connections. */
  start(): Promise<void> {
    return script(["start", this.dir], this.env());
  }

  /**
   * Stops the broker's process where it stands (SIGSTOP): connections stay
   * open and nothing answers, as with a broker stuck in a long pause.
   */
  freeze(): void {
    process.kill(this.pid(), "SIGSTOP");
  }

  /** Lets a frozen broker go on (SIGCONT). */
  thaw(): void {
    process.kill(this.pid(), "SIGCONT");
  }

  private pid(): number {
    return Number(readFileSync(join(this.dir, "broker.pid"), "utf8").trim());
  }

  /** Controlled shutdown (SIGTERM); resolves once the process is gone. */
  stop(): Promise<void> {
    return script(["stop", this.dir], this.env());
  }
}

/** Creates `topics` with `partitions` each (replication 1). */
export async function createTopics(brokers: string[], topics: string[], partitions: number) {
  const admin = new Admin({ clientId: "netanomaly-test-admin", bootstrapBrokers: brokers });
  try {
    await admin.createTopics({ topics, partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** Per partition, the offset the next record written will get. */
export async function endOffsets(brokers: string[], topic: string): Promise<bigint[]> {
  const c = new Consumer({
    clientId: "netanomaly-test-offsets",
    groupId: `netanomaly-test-offsets-${process.pid}`,
    bootstrapBrokers: brokers,
  });
  try {
    const offsets = await c.listOffsets({ topics: [topic] });
    return offsets.get(topic) ?? [];
  } finally {
    await c.close();
  }
}

/** Per partition, the offset `group` committed on `topic` (-1 when none). */
export async function committedOffsets(
  brokers: string[],
  group: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const admin = new Admin({ clientId: "netanomaly-test-admin", bootstrapBrokers: brokers });
  try {
    const [g] = await admin.listConsumerGroupOffsets({ groups: [group] });
    const out = new Map<number, bigint>();
    for (const t of g?.topics ?? []) {
      if (t.name !== topic) continue;
      for (const p of t.partitions) out.set(p.partitionIndex, p.committedOffset);
    }
    return out;
  } finally {
    await admin.close();
  }
}

/** Records the group has not committed past yet, summed over the partitions of `topic`. */
export async function groupLag(brokers: string[], group: string, topic: string): Promise<bigint> {
  const [ends, committed] = await Promise.all([
    endOffsets(brokers, topic),
    committedOffsets(brokers, group, topic),
  ]);
  let lag = 0n;
  ends.forEach((end, p) => {
    const c = committed.get(p) ?? -1n;
    lag += end - (c < 0n ? 0n : c);
  });
  return lag;
}

/**
 * The group as the broker sees it, for a failure message: its state, each
 * member's client id and partitions, and per partition the end offset and
 * the committed one.
 */
export async function describeGroup(
  brokers: string[],
  group: string,
  topic: string,
): Promise<string> {
  const admin = new Admin({ clientId: "netanomaly-test-admin", bootstrapBrokers: brokers });
  try {
    const g = (await admin.describeGroups({ groups: [group] })).get(group);
    const members = [...(g?.members.values() ?? [])].map((m) => {
      const parts = [...(m.assignments?.values() ?? [])].flatMap((a) => a.partitions);
      return `${m.clientId} [${parts.join(",")}]`;
    });
    const [ends, committed] = await Promise.all([
      endOffsets(brokers, topic),
      committedOffsets(brokers, group, topic),
    ]);
    const offsets = ends.map((end, p) => `${p}: ${committed.get(p) ?? -1n}/${end}`);
    return `group ${group} ${g?.state ?? "unknown"}; members ${members.join(" ") || "none"}; committed/end ${offsets.join(" ")}`;
  } catch (e) {
    return `group ${group}: cannot describe (${(e as Error).message})`;
  } finally {
    await admin.close().catch(() => {});
  }
}

/**
 * Reads every record of `topic` written so far, in partition order, calling
 * `onRecord` for each; resolves with the count.
 */
export async function readTopic(
  brokers: string[],
  topic: string,
  onRecord: (m: Message) => void,
  timeoutMs = 120_000,
): Promise<number> {
  const ends = await endOffsets(brokers, topic);
  const remaining = new Map<number, bigint>();
  ends.forEach((end, p) => {
    if (end > 0n) remaining.set(p, end);
  });
  if (remaining.size === 0) return 0;
  const c = new Consumer({
    clientId: "netanomaly-test-reader",
    groupId: `netanomaly-test-reader-${topic}-${process.pid}-${Date.now()}`,
    bootstrapBrokers: brokers,
    maxWaitTime: 200,
  });
  let n = 0;
  try {
    const stream = await c.consume({ topics: [topic], mode: "earliest", autocommit: false });
    const timer = setTimeout(
      () => stream.destroy(new Error(`reading ${topic}: timed out, ${n} records read`)),
      timeoutMs,
    );
    try {
      for await (const m of stream) {
        n++;
        onRecord(m);
        const end = remaining.get(m.partition);
        if (end !== undefined && m.offset + 1n >= end) remaining.delete(m.partition);
        if (remaining.size === 0) break;
      }
    } finally {
      clearTimeout(timer);
      await stream.close().catch(() => {});
    }
  } finally {
    await new Promise<void>((resolve) => c.close(true, () => resolve()));
  }
  return n;
}

/** A scorer process (`kafka/main.ts`) with its stderr kept for failure messages. */
export interface ScorerProcess {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
  /**
   * What the process is doing right now, for a failure message: its CPU use
   * over one second and, from a Node diagnostic report (SIGUSR2), the
   * JavaScript stack and the open handles. A scorer that has gone silent is
   * either blocked (CPU near 100 %, the stack says where) or waiting (the
   * handles say on what).
   */
  diagnose: () => Promise<string>;
}

/** Starts `npm run consume` as a child process with `args`. */
export function spawnScorer(args: string[]): ScorerProcess {
  const reports = mkdtempSync(join(tmpdir(), "netanomaly-scorer-report-"));
  const child = spawn(
    process.execPath,
    [
      "--report-on-signal",
      "--report-signal=SIGUSR2",
      `--report-directory=${reports}`,
      "--import",
      "tsx",
      join(ROOT, "kafka/main.ts"),
      ...args,
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      // Each session's steps and idle state, for the failure message.
      env: { ...process.env, NETANOMALY_KAFKA_TRACE: "1" },
    },
  );
  let text = "";
  child.stderr?.on("data", (d: Buffer) => {
    text += d.toString();
    if (text.length > 200_000) text = text.slice(-100_000);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, log: () => text, exited, diagnose: () => diagnose(child, reports) };
}

async function diagnose(child: ChildProcess, reports: string): Promise<string> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null)
    return `exited (${child.exitCode ?? child.signalCode})`;
  const cpuTicks = () => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
  };
  const before = cpuTicks();
  await new Promise((r) => setTimeout(r, 1_000));
  const cpu = `${cpuTicks() - before} % of a core over 1 s`; // 100 ticks a second
  for (const f of readdirSync(reports)) rmSync(join(reports, f), { force: true });
  child.kill("SIGUSR2");
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const file = readdirSync(reports).find((f) => f.endsWith(".json"));
    if (file !== undefined) {
      try {
        const report = JSON.parse(readFileSync(join(reports, file), "utf8"));
        const handles = new Map<string, number>();
        for (const h of report.libuv ?? [])
          if (h.is_active) handles.set(h.type, (handles.get(h.type) ?? 0) + 1);
        return [
          `cpu ${cpu}`,
          `active handles: ${[...handles].map(([t, n]) => `${t} ${n}`).join(", ")}`,
          `js stack: ${report.javascriptStack?.message ?? ""}`,
          ...(report.javascriptStack?.stack ?? []).slice(0, 12),
        ].join("\n");
      } catch {
        // Still being written.
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return `cpu ${cpu}; no diagnostic report within 5 s`;
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes. */
/** Longest one check of {@link waitFor} may take before it counts as failed, ms. */
const CHECK_MS = 15_000;

export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // A check may never answer: the Kafka client can throw inside its own
      // callback (a coordinator missing from fresh metadata, see
      // kafka/client-faults.ts) and leave the call it was serving unsettled.
      if (await within(Promise.resolve(check()), CHECK_MS, what)) return;
    } catch {
      // The broker may be restarting; try again.
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
