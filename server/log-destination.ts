import { type DestinationStream, pino } from "pino";

/**
 * Bytes one `write` to a pipe may carry and still arrive whole, never
 * interleaved with another process's write to the same pipe (POSIX
 * PIPE_BUF; 4096 on Linux).
 */
export const PIPE_BUF = 4096;

/**
 * Where the server writes its log lines: stdout, asynchronously.
 *
 * At the default level every unary call ends with an `rpc finished` line,
 * and a synchronous write per line made that line cost more than scoring
 * the event. Here a line is written at once when no write is in flight;
 * while one is, the lines that follow gather into the next write, so a busy
 * server makes one syscall per batch, off its main thread.
 *
 * - Each write holds whole lines and at most {@link PIPE_BUF} bytes (a
 *   longer line goes alone), so workers sharing one stdout pipe never split
 *   each other's lines, as with one synchronous write per line.
 * - Order is kept: one stream, written in turn.
 * - pino writes what is left synchronously when the process exits (also
 *   after an uncaught error). Only a SIGKILL can lose lines: those of the
 *   last write or two.
 */
export function serverLogDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, maxWrite: PIPE_BUF });
}
