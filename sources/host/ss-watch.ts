/**
 * The socket watch on iproute2's `ss`, used when the sockdiag helper cannot
 * be built: `ss -tuanpieOH exclude time-wait` per poll (from one long-lived
 * shell, `ss-poller.ts`) and a long-running `ss -tuanieOHE` for destroy
 * events. Several times the CPU of the helper: `ss` formats about a
 * kilobyte of tcp_info text per socket, and `-p` reads every process's fd
 * links on every poll.
 */
import { spawn } from "node:child_process";
import type { SocketWatch, SocketWatchHooks } from "./socket-watch.js";
import { parseSsLine, SsParseError, type SsRecord } from "./ss-parse.js";
import { startSsPoller } from "./ss-poller.js";
import { onLines } from "./stdout-lines.js";

/** Starts the destroy watcher now and the poll shell at the first poll. */
export function startSsWatch(hooks: SocketWatchHooks): SocketWatch {
  const { signal } = hooks;
  const prefix = hooks.netns === undefined ? [] : ["ip", "netns", "exec", hooks.netns];
  const parse = (line: string, where: () => string): SsRecord | undefined => {
    try {
      return parseSsLine(line);
    } catch (err) {
      if (!(err instanceof SsParseError)) throw err;
      hooks.onBadLine(where(), err.message);
      return undefined;
    }
  };

  // ss writes through stdio: stdbuf makes it flush each line into the pipe.
  const [cmd, ...args] = [...prefix, "stdbuf", "-oL", "ss", "-tuanieOHE"];
  const child = spawn(cmd as string, args, { stdio: ["ignore", "pipe", "pipe"], signal });
  let destroyEvents = 0;
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (t: string) => {
    stderr = (stderr + t).slice(-400);
  });
  onLines(child.stdout, (line, lineNo, nowMs) => {
    const record = parse(line, () => `ss -E line ${lineNo}`);
    if (record === undefined) return;
    destroyEvents++;
    hooks.onDestroy(record, nowMs);
  });
  const lost = (why: string) =>
    hooks.onNotice(
      "destroy",
      `socket-destroy events unavailable (${why}): a connection is reported when it vanishes from a poll, with the last poll's counters, and one shorter than a poll is missed`,
    );
  child.on("error", (err) => {
    if (err.name !== "AbortError") lost(err.message);
  });
  child.on("exit", (code, killedBy) => {
    if (!signal.aborted) lost(`${cmd} exited with ${killedBy ?? `code ${code}`} ${stderr.trim()}`);
  });

  const poller = startSsPoller(["-tuanpieOH", "exclude", "time-wait"], signal, prefix);
  let polls = 0;
  return {
    kind: "ss",
    get destroyEvents() {
      return destroyEvents;
    },
    pids: () => ({ poll: poller.pid, destroy: child.pid }),
    async poll() {
      const text = await poller.poll();
      polls++;
      const records: SsRecord[] = [];
      let n = 0;
      for (const line of text.split("\n")) {
        n++;
        const record = parse(line, () => `ss poll ${polls} line ${n}`);
        if (record !== undefined) records.push(record);
      }
      return records;
    },
  };
}
