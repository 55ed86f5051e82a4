import { fstatSync, writeSync } from "node:fs";
import type { DestinationStream } from "pino";

/**
 * Bytes one `write` to a pipe may carry and still arrive whole, never
 * interleaved with another process's write to the same pipe (POSIX
 * PIPE_BUF; 4096 on Linux).
 */
export const PIPE_BUF = 4096;

/** Default most bytes of log lines held while stdout's reader does not read. */
export const DEFAULT_MAX_LOG_BUFFER_BYTES = 8 * 1024 * 1024;

/** How long the process may wait at exit for a stalled reader, ms. */
export const EXIT_FLUSH_MS = 5_000;

/** How often a full pipe is tried again, ms. */
const RETRY_MS = 10;

/** Options for {@link serverLogDestination}. */
export interface LogDestinationOptions {
  /** Most bytes held for a reader that stopped reading; more lines are dropped. Default 8 MiB. */
  maxBufferedBytes?: number;
}

/** Counters of a {@link serverLogDestination}. */
export interface LogDestinationStats {
  /** Bytes waiting to be written now. */
  bufferedBytes: number;
  /** Lines dropped because the buffer was full, in total. */
  droppedLines: number;
}

/**
 * Where the server (supervisor and workers) writes its log lines: stdout,
 * one write per turn of the event loop instead of one per line, and never a
 * write that blocks.
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
 * - stdout is put in non-blocking mode when it is a pipe or socket. When
 *   its reader stops reading (a stuck log shipper, a paused `docker logs`)
 *   and the pipe is full, the write fails with EAGAIN instead of stopping
 *   the event loop: lines wait in a buffer of at most `maxBufferedBytes`,
 *   tried again every 10 ms; lines that do not fit are dropped and
 *   counted, and once the reader is back and the buffer has drained, a
 *   `log lines dropped` line says how many (issue 23, item 2).
 * - What is held is written when the process exits, also after an uncaught
 *   error, waiting at most {@link EXIT_FLUSH_MS} for a stalled reader. Only
 *   a SIGKILL can lose lines: those of the turn it cuts short.
 *
 * pino's own asynchronous destination was tried first: it writes from
 * libuv's thread pool, and a write still in flight at exit landed after the
 * lines written at exit ("stopped" before "shutting down").
 */
export function serverLogDestination(
  options: LogDestinationOptions = {},
): DestinationStream & { readonly stats: Readonly<LogDestinationStats> } {
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_LOG_BUFFER_BYTES;
  makeNonBlocking();
  const stats: LogDestinationStats = { bufferedBytes: 0, droppedLines: 0 };
  /** Lines of this turn. */
  let held: string[] = [];
  let heldBytes = 0;
  /** Chunks ready to write, each whole lines of at most PIPE_BUF bytes (or one longer line). */
  const queue: Buffer[] = [];
  let queuedBytes = 0;
  /** Dropped since the last report. */
  let unreported = 0;
  let scheduled = false;
  let retry: NodeJS.Timeout | undefined;
  let broken = false;

  const pack = (): void => {
    scheduled = false;
    let chunk = "";
    let bytes = 0;
    for (const line of held) {
      const n = Buffer.byteLength(line);
      if (bytes > 0 && bytes + n > PIPE_BUF) {
        queue.push(Buffer.from(chunk));
        chunk = "";
        bytes = 0;
      }
      chunk += line;
      bytes += n;
    }
    if (bytes > 0) queue.push(Buffer.from(chunk));
    queuedBytes += heldBytes;
    held = [];
    heldBytes = 0;
  };

  /** Writes what the pipe takes; false if it is full (EAGAIN). */
  const drain = (): boolean => {
    for (;;) {
      while (queue.length > 0) {
        const first = queue[0] as Buffer;
        let n: number;
        try {
          n = writeSync(STDOUT, first);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === "EAGAIN") return false;
          // EPIPE: the reader has gone; as pino does, stop logging rather than fail.
          broken = true;
          queue.length = 0;
          queuedBytes = 0;
          stats.bufferedBytes = 0;
          if (code === "EPIPE") return true;
          throw e;
        }
        queuedBytes -= n;
        if (n === first.length) queue.shift();
        else queue[0] = first.subarray(n);
      }
      stats.bufferedBytes = queuedBytes + heldBytes;
      if (unreported === 0) return true;
      // The reader is back and everything held is out: say what was lost.
      const report = `${JSON.stringify({
        level: 40,
        time: Date.now(),
        pid: process.pid,
        droppedLines: unreported,
        msg: "log lines dropped: stdout's reader stalled and the log buffer was full",
      })}\n`;
      unreported = 0;
      queue.push(Buffer.from(report));
      queuedBytes += Buffer.byteLength(report);
    }
  };

  const flush = (): void => {
    pack();
    if (retry !== undefined || broken) return; // a retry is pending: it writes in order
    if (!drain()) {
      retry = setInterval(() => {
        if (drain()) {
          clearInterval(retry);
          retry = undefined;
        }
      }, RETRY_MS);
      retry.unref();
    }
  };

  process.on("exit", () => {
    if (broken) return;
    pack();
    clearInterval(retry);
    const deadline = performance.now() + EXIT_FLUSH_MS;
    while (!drain() && performance.now() < deadline) {
      Atomics.wait(sleeper, 0, 0, 1);
    }
  });

  return {
    stats,
    write(line: string): void {
      if (broken) return;
      const n = Buffer.byteLength(line);
      if (queuedBytes + heldBytes + n > maxBuffered) {
        stats.droppedLines++;
        unreported++;
        return;
      }
      held.push(line);
      heldBytes += n;
      stats.bufferedBytes = queuedBytes + heldBytes;
      // Warnings and errors (anomaly lines among them) go out now, with
      // everything held before them: the answer to the call that logged
      // one is written after this returns, so it never leaves first.
      if (line.startsWith('{"level":') && line.charCodeAt(9) >= 0x34 /* 4x: warn and above */) {
        flush();
        return;
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}

const STDOUT = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Puts stdout in non-blocking mode when it is a pipe or a socket: libuv
 * does so when it opens the stream, which `process.stdout` makes it do. A
 * file never blocks for long; a terminal is left as it is.
 */
function makeNonBlocking(): void {
  let kind: "pipe" | "other" = "other";
  try {
    const st = fstatSync(STDOUT);
    if (st.isFIFO() || st.isSocket()) kind = "pipe";
  } catch {
    return;
  }
  if (kind !== "pipe") return;
  const handle = (process.stdout as unknown as { _handle?: { setBlocking?(b: boolean): number } })
    ._handle;
  handle?.setBlocking?.(false);
}
