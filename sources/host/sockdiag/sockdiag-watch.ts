/**
 * The socket watch on the `netanomaly-sockdiag` helper: one child answers
 * poll requests ("p" on its stdin) and streams destroy events between them.
 */
import { spawn } from "node:child_process";
import type { SocketWatch, SocketWatchHooks } from "../socket-watch.js";
import { SsParseError, type SsRecord } from "../ss-parse.js";
import { onLines } from "../stdout-lines.js";
import { parseSockdiagLine } from "./sockdiag-line.js";

/** Starts the helper at `path`; aborting `hooks.signal` ends it. */
export function startSockdiagWatch(path: string, hooks: SocketWatchHooks): SocketWatch {
  const [cmd, ...args] =
    hooks.netns === undefined ? [path] : ["ip", "netns", "exec", hooks.netns, path];
  const child = spawn(cmd as string, args, {
    stdio: ["pipe", "pipe", "pipe"],
    signal: hooks.signal,
  });
  let destroyEvents = 0;
  let polls = 0;
  let stderr = "";
  let records: SsRecord[] = [];
  let waiting: { resolve: (r: SsRecord[]) => void; reject: (err: Error) => void } | undefined;
  let dead: Error | undefined;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (t: string) => {
    stderr = (stderr + t).slice(-2000);
  });
  onLines(child.stdout, (line, lineNo, nowMs) => {
    let parsed: ReturnType<typeof parseSockdiagLine>;
    try {
      parsed = parseSockdiagLine(line);
    } catch (err) {
      if (!(err instanceof SsParseError)) throw err;
      hooks.onBadLine(`sockdiag line ${lineNo}`, err.message);
      return;
    }
    switch (parsed.kind) {
      case "destroy":
        destroyEvents++;
        hooks.onDestroy(parsed.record, nowMs);
        break;
      case "socket":
        records.push(parsed.record);
        break;
      case "end": {
        polls++;
        const done = records;
        records = [];
        const w = waiting;
        waiting = undefined;
        w?.resolve(done);
        break;
      }
      case "notice":
        hooks.onNotice(`sockdiag:${parsed.message}`, parsed.message);
        break;
    }
  });
  const fail = (err: Error) => {
    dead ??= err;
    waiting?.reject(dead);
    waiting = undefined;
  };
  child.on("error", (err) => fail(err));
  child.on("exit", (code, sig) =>
    fail(
      new Error(
        `the sockdiag helper exited (${sig ?? `code ${code}`}) after ${polls} polls: ${stderr.trim() || "no message"}`,
      ),
    ),
  );
  child.stdin.on("error", () => {});
  return {
    kind: "sockdiag",
    get destroyEvents() {
      return destroyEvents;
    },
    pids: () => ({ poll: child.pid }),
    poll() {
      if (dead !== undefined) return Promise.reject(dead);
      if (waiting !== undefined) return Promise.reject(new Error("a poll is already running"));
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        child.stdin.write("p\n");
      });
    },
  };
}
