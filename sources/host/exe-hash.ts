import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";

/** Options of {@link createExeHasher}. */
export interface ExeHasherOptions {
  /** Executables remembered; default 1024. */
  maxEntries?: number;
}

/** SHA-256 of executables, cached by the file's device, inode and mtime. */
export interface ExeHasher {
  /**
   * Hashes the executable of a running process through `/proc/PID/exe`
   * (which still reaches a binary deleted or replaced since it started), or
   * through `path` when the process has exited meanwhile.
   *
   * @returns lowercase hex SHA-256, or "" when the file cannot be read
   *   (process gone, or another user's process without CAP_SYS_PTRACE).
   */
  hashOf(pid: number, path?: string): Promise<string>;
  /** Files hashed, not served from the cache. */
  readonly hashed: number;
  readonly size: number;
}

/**
 * Creates a hasher whose cache key is `dev:ino:mtime` of the executable, so
 * a host's binaries are hashed once, not every poll, and an upgraded binary
 * (new inode or mtime) is hashed again. The cache holds `maxEntries` files
 * and drops the least recently used.
 */
export function createExeHasher(options: ExeHasherOptions = {}, procRoot = "/proc"): ExeHasher {
  const maxEntries = options.maxEntries ?? 1024;
  const cache = new Map<string, Promise<string>>();
  let hashed = 0;
  return {
    get hashed() {
      return hashed;
    },
    get size() {
      return cache.size;
    },
    async hashOf(pid, path) {
      let file = `${procRoot}/${pid}/exe`;
      let key: string;
      try {
        const s = await stat(file).catch((err: unknown) => {
          if (path === undefined || path === "") throw err;
          file = path;
          return stat(path);
        });
        key = `${s.dev}:${s.ino}:${s.mtimeMs}`;
      } catch {
        return "";
      }
      const hit = cache.get(key);
      if (hit !== undefined) {
        cache.delete(key);
        cache.set(key, hit);
        return hit;
      }
      hashed++;
      const pending = sha256File(file);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      cache.set(key, pending);
      const digest = await pending;
      // A failed read is not cached: the next connection of the process tries again.
      if (digest === "") cache.delete(key);
      return digest;
    },
  };
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve) => {
    const hash = createHash("sha256");
    // 1 MiB reads: a 100 MB binary is 100 thread-pool jobs, not 1,600.
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", () => resolve(""));
  });
}
