import { readFile, readlink } from "node:fs/promises";
import { basename } from "node:path";

/**
 * What `/proc` tells about the process holding a socket. A part that could
 * not be read is "" (and named in `missing`), never guessed.
 */
export interface ProcessInfo {
  pid: number;
  /** Executable path (`/proc/PID/exe`); "" when not permitted or gone. */
  path: string;
  /** Parent's executable name (basename of `/proc/PPID/exe`, else its `comm`). */
  parentName: string;
  /** Real uid from `/proc/PID/status`. */
  uid: number | undefined;
  /** User name of `uid` from the passwd file, else the uid in decimal. */
  user: string;
  /** What could not be read and why, e.g. `exe: permission denied`. */
  missing: string[];
}

/** Why a process could not be read at all. */
export type ProcessProblem = "vanished" | "denied" | "unreadable";

/** Result of one lookup: the info, or why there is none. */
export type ProcessLookup =
  | { ok: true; info: ProcessInfo }
  | { ok: false; problem: ProcessProblem; where: string; message: string };

/** Options of {@link createProcessReader}. */
export interface ProcessReaderOptions {
  /** Mount point of procfs; default `/proc`. */
  procRoot?: string;
  /** Passwd file for uid → name; default `/etc/passwd`. */
  passwdPath?: string;
  /** Processes remembered (by pid and start time); default 4096. */
  maxEntries?: number;
}

/** Reads and caches process attribution from `/proc`. */
export interface ProcessReader {
  read(pid: number): Promise<ProcessLookup>;
  /** User name of a uid from the passwd file (reread each minute), else the uid in decimal. */
  userName(uid: number): Promise<string>;
  /** Entries cached now. */
  readonly size: number;
}

const PASSWD_TTL_MS = 60_000;

/**
 * Creates a reader of `/proc/PID/{stat,status,exe}`. A process is cached
 * under its pid and start time (field 22 of `stat`), so a reused pid is read
 * afresh; the cache holds `maxEntries` processes and drops the oldest.
 *
 * Reading another user's `/proc/PID/exe` needs CAP_SYS_PTRACE; a process
 * that exits mid-read yields `vanished`, never a throw.
 */
export function createProcessReader(options: ProcessReaderOptions = {}): ProcessReader {
  const proc = options.procRoot ?? "/proc";
  const passwdPath = options.passwdPath ?? "/etc/passwd";
  const maxEntries = options.maxEntries ?? 4096;
  const cache = new Map<number, { start: string; info: ProcessInfo }>();
  let users: { at: number; names: Map<number, string> } | undefined;

  async function userName(uid: number): Promise<string> {
    const now = Date.now();
    if (users === undefined || now - users.at > PASSWD_TTL_MS) {
      const names = new Map<number, string>();
      try {
        for (const line of (await readFile(passwdPath, "utf8")).split("\n")) {
          const parts = line.split(":");
          if (parts.length >= 3 && parts[0] !== "") names.set(Number(parts[2]), parts[0] as string);
        }
      } catch {
        // No passwd file (a minimal container): users are shown by uid.
      }
      users = { at: now, names };
    }
    return users.names.get(uid) ?? String(uid);
  }

  async function parentName(ppid: number, missing: string[]): Promise<string> {
    if (ppid <= 0) return "";
    try {
      return basename(await readlink(`${proc}/${ppid}/exe`));
    } catch {
      try {
        return (await readFile(`${proc}/${ppid}/comm`, "utf8")).trim();
      } catch (err) {
        missing.push(`parent ${ppid}: ${reason(err)}`);
        return "";
      }
    }
  }

  return {
    get size() {
      return cache.size;
    },
    userName,
    async read(pid) {
      const where = `${proc}/${pid}`;
      // All three at once: a short-lived process may exit between reads.
      const [statRead, statusRead, exeRead] = await Promise.allSettled([
        readFile(`${where}/stat`, "utf8"),
        readFile(`${where}/status`, "utf8"),
        readlink(`${where}/exe`),
      ]);
      if (statRead.status === "rejected") return failure(statRead.reason, where);
      const statText = statRead.value;
      // comm may hold spaces and parentheses: fields start after the last ')'.
      const start = statText.slice(statText.lastIndexOf(")") + 2).split(" ")[19] ?? "";
      const hit = cache.get(pid);
      if (hit !== undefined && hit.start === start) return { ok: true, info: hit.info };
      if (statusRead.status === "rejected") return failure(statusRead.reason, where);
      const status = statusRead.value;
      const missing: string[] = [];
      const uidMatch = /^Uid:\s+(\d+)/m.exec(status);
      const ppidMatch = /^PPid:\s+(\d+)/m.exec(status);
      const uid = uidMatch === null ? undefined : Number(uidMatch[1]);
      let path = "";
      if (exeRead.status === "fulfilled") {
        path = exeRead.value.endsWith(" (deleted)") ? exeRead.value.slice(0, -10) : exeRead.value;
      } else {
        // A kernel thread has no exe, nor has a process that exited (a zombie).
        missing.push(`exe: ${reason(exeRead.reason)}`);
      }
      const info: ProcessInfo = {
        pid,
        path,
        parentName: await parentName(ppidMatch === null ? 0 : Number(ppidMatch[1]), missing),
        uid,
        user: uid === undefined ? "" : await userName(uid),
        missing,
      };
      // A process caught exiting is not cached: its pid's next reader tries again.
      if (missing.length === 0) {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as number);
        cache.set(pid, { start, info });
      }
      return { ok: true, info };
    },
  };
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? "";
}

function reason(err: unknown): string {
  const c = code(err);
  if (c === "EACCES" || c === "EPERM") return "permission denied";
  if (c === "ENOENT" || c === "ESRCH") return "process exited";
  return c === "" ? String(err) : c;
}

function failure(err: unknown, where: string): ProcessLookup {
  const c = code(err);
  if (c === "EACCES" || c === "EPERM") {
    return { ok: false, problem: "denied", where, message: "permission denied" };
  }
  if (c === "ENOENT" || c === "ESRCH") {
    return { ok: false, problem: "vanished", where, message: "process exited while being read" };
  }
  return { ok: false, problem: "unreadable", where, message: reason(err) };
}
