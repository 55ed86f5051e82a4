import { writeSync } from "node:fs";
import type { DestinationStream } from "pino";

/**
 * Bytes one `write` to a pipe may carry and still arrive whole, never
 * interleaved with another process's write to the same pipe (POSIX
 * PIPE_BUF; 4096 on Linux).
 */
export const PIPE_BUF = 4096;

/**
 * Where the server (supervisor and workers) writes its log lines: stdout,
 * one synchronous write per turn of the event loop instead of one per line.
 *
 * At the default level every unary call ends with an `rpc finished` line,
 * and a `write` per line made that line cost more than scoring the event.
 * Here the lines logged in one turn are held and written together right
 * after it (`setImmediate`), on the main thread:
 *
 * - Order is kept, and a quiet server's line still leaves at once.
 * - Each write holds whole lines and at most {@link PIPE_BUF} bytes (a
 *   longer line goes alone), so workers sharing one stdout pipe never split
 *   each other's lines, as with one write per line.
 * - What is held is written when the process exits, also after an uncaught
 *   error. Only a SIGKILL can lose lines: those of the turn it cuts short.
 *
 * pino's own asynchronous destination was tried first: it writes from
 * libuv's thread pool, and a write still in flight at exit landed after the
 * lines written at exit ("stopped" before "shutting down").
 */
export function serverLogDestination(): DestinationStream {
  let held: string[] = [];
  let scheduled = false;
  let broken = false;
  const flushSync = (): void => {
    scheduled = false;
    const lines = held;
    held = [];
    let chunk = "";
    let bytes = 0;
    for (const line of lines) {
      const n = Buffer.byteLength(line);
      if (bytes > 0 && bytes + n > PIPE_BUF) {
        broken = !writeFully(STDOUT, chunk);
        if (broken) {
          return;
        }
        chunk = "";
        bytes = 0;
      }
      chunk += line;
      bytes += n;
    }
    if (bytes > 0) {
      broken = !writeFully(STDOUT, chunk);
    }
  };
  process.on("exit", flushSync);
  return {
    write(line: string): void {
      if (broken) {
        return;
      }
      held.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushSync);
      }
    },
  };
}

const STDOUT = 1;

/** How long to wait for a full pipe to drain before writing again, ms. */
const BUSY_WAIT_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to `fd`, waiting while a non-blocking pipe is full
 * (EAGAIN), as pino's synchronous destination does.
 *
 * @returns false when the reader has gone (EPIPE): as pino does, the
 *   server then stops logging rather than failing.
 * @throws any other write error.
 */
function writeFully(fd: number, text: string): boolean {
  let rest = Buffer.from(text);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EPIPE") {
        return false;
      }
      if (code !== "EAGAIN") {
        throw e;
      }
      Atomics.wait(sleeper, 0, 0, BUSY_WAIT_MS);
    }
  }
  return true;
}
