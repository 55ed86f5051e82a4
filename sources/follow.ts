import { type FileHandle, open, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Line } from "./lines.js";
import { splitLines } from "./lines.js";
import type { SourceContext } from "./source.js";

/** How often a followed file is checked for growth and rotation unless `intervalS` says. */
export const FOLLOW_POLL_MS = 250;

const CHUNK = 64 * 1024;

/**
 * Reads a file from its start and keeps reading as it grows, across
 * rotation, as `tail -F` does (but from the first line, not the last ten):
 * - growth: polled every `pollMs`; what was appended is read;
 * - rotation (the path now names another file, by inode: `logrotate`'s
 *   rename-and-create, Zeek's and Suricata's own rotation): the old file is
 *   read to its end, then the new one from its start; line numbers start
 *   again at 1;
 * - truncation in place (`copytruncate`): the file is read again from its
 *   start;
 * - the path missing for a while (renamed away, not yet created): the old
 *   file keeps being read and the path polled.
 * Ends when `ctx.signal` aborts. Each rotation and truncation is said
 * through `onNotice`.
 *
 * @throws Error naming the file when it does not exist at the start.
 */
export async function* followLines(
  path: string,
  ctx: SourceContext,
  pollMs = FOLLOW_POLL_MS,
): AsyncGenerator<Line> {
  let handle = await openFile(path);
  try {
    for (;;) {
      const state = { handle, next: undefined as FileHandle | undefined };
      yield* splitLines(chunks(path, state, ctx, pollMs), path, ctx);
      if (state.next === undefined) return;
      await handle.close();
      handle = state.next;
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

async function openFile(path: string): Promise<FileHandle> {
  try {
    const h = await open(path, "r");
    if (!(await h.stat()).isFile()) {
      await h.close();
      throw new Error(`${path} is not a regular file`);
    }
    return h;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    throw new Error(
      code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${code ?? String(e)}`,
    );
  }
}

/**
 * The bytes of one file generation. Returns when the signal aborts, or
 * when the path names a new file (then `state.next` holds it, opened).
 * A truncated file restarts from its start within the same generation.
 */
async function* chunks(
  path: string,
  state: { handle: FileHandle; next: FileHandle | undefined },
  ctx: SourceContext,
  pollMs: number,
): AsyncGenerator<Buffer> {
  const { handle } = state;
  const ino = (await handle.stat()).ino;
  const buf = Buffer.alloc(CHUNK);
  let pos = 0;
  while (!ctx.signal.aborted) {
    const { bytesRead } = await handle.read(buf, 0, CHUNK, pos);
    if (bytesRead > 0) {
      pos += bytesRead;
      yield Buffer.from(buf.subarray(0, bytesRead));
      continue;
    }
    const now = await stat(path).catch(() => undefined);
    if (now !== undefined && now.ino !== ino) {
      // Rotated. The old file was read to its end just now; a writer that
      // still held it may have added more since: one last read settles it.
      const last = await handle.read(buf, 0, CHUNK, pos);
      if (last.bytesRead > 0) {
        pos += last.bytesRead;
        yield Buffer.from(buf.subarray(0, last.bytesRead));
        continue;
      }
      try {
        state.next = await open(path, "r");
      } catch {
        // Gone again between stat and open: keep polling.
        await pause(pollMs, ctx.signal);
        continue;
      }
      ctx.onNotice(`${path}: rotated (a new file at the path); reading it from its start`);
      return;
    }
    const size = (await handle.stat()).size;
    if (size < pos) {
      ctx.onNotice(`${path}: truncated to ${size} bytes; reading it again from its start`);
      pos = 0;
      continue;
    }
    await pause(pollMs, ctx.signal);
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Aborted: the loop sees the signal.
  }
}
