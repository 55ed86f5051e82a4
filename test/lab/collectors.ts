import { join } from "node:path";
import type { NetworkEvent } from "../../gen/netanomaly/v1/telemetry_pb.js";
import { sourceNamed } from "../../sources/index.js";
import { parseLine } from "../../sources/jsonl.js";
import { run, sleep, start, stop } from "./proc.js";

const root = join(import.meta.dirname, "..", "..");

/** A collector running inside a namespace, gathering the events it prints. */
export interface RunningCollector {
  source: string;
  /** Ends the collector (SIGTERM) and returns every event it printed, and its stderr tail. */
  finish(): Promise<{ events: NetworkEvent[]; badLines: number; stderr: string }>;
  /** True while the process runs. */
  running(): boolean;
  /**
   * Resolves once the collector has printed nothing for `quietMs` (or after
   * `maxMs`): what its exporters sent last has been read from its socket,
   * rather than left in the receive buffer when it is stopped.
   */
  settled(quietMs: number, maxMs: number): Promise<void>;
  stderrTail(): string;
}

/** @returns why the lab cannot collect from `source` on this branch, or undefined when it can. */
export function missingSource(source: string): string | undefined {
  return sourceNamed(source) === undefined
    ? `source "${source}" is not registered in sources/registry.ts yet`
    : undefined;
}

let agentPrints: boolean | undefined;

/**
 * Whether the agent has `--print` (one JSON line per event on stdout); until
 * it does, the lab runs its own `collect.ts`, which prints the same lines.
 */
export async function agentHasPrint(): Promise<boolean> {
  if (agentPrints === undefined) {
    const r = await run(
      process.execPath,
      ["--import", "tsx", join(root, "agent/main.ts"), "--help"],
      {
        check: false,
        timeoutMs: 30_000,
      },
    );
    agentPrints = /--print\b/.test(r.stdout + r.stderr) && /--source\b/.test(r.stdout + r.stderr);
  }
  return agentPrints;
}

/**
 * Starts a collector for `source` inside namespace `ns`: the agent with
 * `--source NAME --print --duration S` when it has those flags, else
 * `test/lab/collect.ts`. `args` are extra flags (`--listen HOST:PORT`).
 */
export async function startCollector(
  source: string,
  ns: string,
  args: readonly string[],
  maxDurationS: number,
): Promise<RunningCollector> {
  const useAgent = await agentHasPrint();
  const script = useAgent ? "agent/main.ts" : "test/lab/collect.ts";
  const flags = useAgent
    ? ["--source", source, "--print", "--duration", String(maxDurationS), ...args]
    : ["--source", source, "--duration", String(maxDurationS), ...args];
  const child = start(process.execPath, ["--import", "tsx", join(root, script), ...flags], {
    ns,
    stdout: "pipe",
  });
  const lines: string[] = [];
  let partial = "";
  let lastOutput = Date.now();
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (d: string) => {
    lastOutput = Date.now();
    const parts = (partial + d).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  const ended = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return {
    source,
    running: () => child.exitCode === null && child.signalCode === null,
    stderrTail: () => child.stderrTail(),
    async settled(quietMs, maxMs) {
      const end = Date.now() + maxMs;
      while (Date.now() < end && Date.now() - lastOutput < quietMs) await sleep(100);
    },
    async finish() {
      await stop(child, 10_000);
      await ended;
      if (partial !== "") lines.push(partial);
      const events: NetworkEvent[] = [];
      let badLines = 0;
      for (const text of lines) {
        if (text.trim() === "") continue;
        const parsed = parseLine(text);
        if (parsed === null) continue;
        if (typeof parsed === "string") {
          // A summary object that is not an event (the agent's `--json` last line) is not bad.
          if (!/"sent"|"events"/.test(text)) badLines++;
          continue;
        }
        events.push(parsed.event);
      }
      return { events, badLines, stderr: child.stderrTail() };
    },
  };
}
