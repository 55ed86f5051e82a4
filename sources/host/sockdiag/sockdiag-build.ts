/**
 * Builds the `netanomaly-sockdiag` helper from `sockdiag.c` with the host's
 * C compiler, once per source version: the binary is cached as
 * `sockdiag-<hash of the source>` in `$NETANOMALY_CACHE` (default
 * `$XDG_CACHE_HOME/netanomaly` or `~/.cache/netanomaly`, else the temp dir).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { access, constants, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/** Beside this module under tsx; from `dist/sources/host/sockdiag/`, in the source tree (tsc copies no C). */
const SOURCES = [
  new URL("./sockdiag.c", import.meta.url),
  new URL("../../../../sources/host/sockdiag/sockdiag.c", import.meta.url),
];

/** The built helper, or why there is none. */
export type SockdiagBuild = { ok: true; path: string } | { ok: false; why: string };

let building: Promise<SockdiagBuild> | undefined;

/** Builds (or finds) the helper for this process's environment; once per process however often it is asked. */
export function buildSockdiag(): Promise<SockdiagBuild> {
  building ??= buildSockdiagIn(process.env);
  return building;
}

/** Builds (or finds) the helper with the compiler (`CC`) and cache directories `env` names. */
export async function buildSockdiagIn(env: NodeJS.ProcessEnv): Promise<SockdiagBuild> {
  if (process.platform !== "linux") return { ok: false, why: "sock_diag is Linux only" };
  let source: Buffer | undefined;
  let sourcePath = "";
  for (const url of SOURCES) {
    try {
      source = await readFile(url);
      sourcePath = url.pathname;
      break;
    } catch {
      // Try the next place.
    }
  }
  if (source === undefined)
    return { ok: false, why: `sockdiag.c not found at ${SOURCES[0]?.pathname}` };
  const cc = env.CC ?? "cc";
  const version = createHash("sha256")
    .update(cc)
    .update("\0")
    .update(source)
    .digest("hex")
    .slice(0, 16);
  let lastWhy = "";
  for (const dir of cacheDirs(env)) {
    const path = join(dir, `sockdiag-${version}`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // A binary is run from here: only a directory that no one else can write is trusted.
      const s = await stat(dir);
      if ((process.getuid && s.uid !== process.getuid()) || (s.mode & 0o022) !== 0) {
        lastWhy = `${dir} is not owned by this user or is writable by others`;
        continue;
      }
    } catch (err) {
      lastWhy = `cannot create ${dir}: ${(err as Error).message}`;
      continue;
    }
    try {
      await access(path, constants.X_OK);
      return { ok: true, path };
    } catch {
      // Not built here yet.
    }
    const partial = `${path}.${process.pid}.tmp`;
    const failure = await new Promise<string | undefined>((resolve) =>
      execFile(
        cc,
        ["-O2", "-o", partial, sourcePath],
        { timeout: 60_000 },
        (err, _stdout, stderr) =>
          resolve(
            err === null
              ? undefined
              : (err as NodeJS.ErrnoException).code === "ENOENT"
                ? `no C compiler (${cc}) on PATH`
                : `${cc} failed: ${stderr.trim().split("\n").slice(-3).join(" ") || err.message}`,
          ),
      ),
    );
    if (failure !== undefined) {
      await rm(partial, { force: true });
      // A compiler that fails fails everywhere; a directory that cannot be written may be cured by the next.
      if (!failure.includes("Permission denied") && !failure.includes("cannot open output")) {
        return { ok: false, why: failure };
      }
      lastWhy = failure;
      continue;
    }
    await rename(partial, path);
    return { ok: true, path };
  }
  return { ok: false, why: lastWhy || "no writable cache directory" };
}

function cacheDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs: string[] = [];
  if (env.NETANOMALY_CACHE) dirs.push(env.NETANOMALY_CACHE);
  if (env.XDG_CACHE_HOME) dirs.push(join(env.XDG_CACHE_HOME, "netanomaly"));
  const home = env.HOME ?? homedir();
  if (home) dirs.push(join(home, ".cache", "netanomaly"));
  dirs.push(join(tmpdir(), `netanomaly-${process.getuid?.() ?? "user"}`));
  return dirs;
}
