import type * as http from "node:http";
import * as http2 from "node:http2";
import type { Logger } from "pino";
import { createJsonDepthMeter, MAX_JSON_DEPTH } from "./json-depth.js";
import { createLogBudget } from "./log-budget.js";

/** Default most bytes of unfinished request bodies one connection may hold. */
export const DEFAULT_MAX_CONNECTION_BODY_BYTES = 16 * 1024 * 1024;

/** Default most bytes of unfinished request bodies the whole process may hold. */
export const DEFAULT_MAX_PROCESS_BODY_BYTES = 128 * 1024 * 1024;

/** Default time a request body may take to arrive, ms. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/**
 * Streaming methods whose request side stays open by design (a client
 * sends when it has something): exempt from the body timeout.
 */
const OPEN_ENDED = ["/StreamScore", "/ServerReflectionInfo"];

/** Options for {@link createBodyLimits}. */
export interface BodyLimitsOptions {
  /** Unfinished body bytes per connection; beyond it the stream (HTTP/2) or connection (HTTP/1.1) is reset. */
  maxConnectionBytes: number;
  /** Unfinished body bytes for the whole process; beyond it, likewise. */
  maxProcessBytes: number;
  /** A request whose body is not complete this long after its headers is reset, ms; 0 disables. */
  bodyTimeoutMs: number;
  logger: Logger;
}

/** Counters, for tests and the runtime stats line. */
export interface BodyLimitStats {
  /** Bytes of request bodies received and not yet complete, now. */
  heldBytes: number;
  /** Requests reset because a body limit was exceeded. */
  overLimit: number;
  /** Requests reset because their body took longer than the body timeout. */
  timedOut: number;
  /** JSON requests cut because they nest deeper than {@link MAX_JSON_DEPTH}. */
  tooDeep: number;
}

/** Body accounting built by {@link createBodyLimits}. */
export interface BodyLimits {
  readonly stats: Readonly<BodyLimitStats>;
  /** Watches one HTTP/2 stream; call from the server's 'stream' event, before any handler reads it. */
  watchStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void;
  /** Watches one HTTP/1.1 request and its response; call before the handler reads it. */
  watchRequest(req: http.IncomingMessage, res: http.ServerResponse): void;
}

/**
 * What unfinished request bodies may cost (issue 23, item 1). A body is
 * "unfinished" from its first byte until the request side ends or the
 * server starts its response (a stream being answered is read message by
 * message, within HTTP/2 flow control). Every such byte counts against its
 * connection and against the process; a request that takes either over its
 * bound is reset at once (HTTP/2 `RST_STREAM ENHANCE_YOUR_CALM`; HTTP/1.1:
 * the connection is closed), and its bytes are released. A request whose
 * body is still incomplete `bodyTimeoutMs` after its headers is reset the
 * same way (`CANCEL`), except `StreamScore` and reflection, whose request
 * sides are open by design.
 */
export function createBodyLimits(options: BodyLimitsOptions): BodyLimits {
  const stats: BodyLimitStats = { heldBytes: 0, overLimit: 0, timedOut: 0, tooDeep: 0 };
  const perConnection = new WeakMap<object, number>();
  const warn = createLogBudget(options.logger, { linesPerSecond: 1, burst: 5 });

  /** Charges a request; `reset` ends it; returns the function that takes `n` more bytes. */
  const account = (
    connection: object,
    reset: (why: "limit" | "timeout") => void,
    path: string,
    contentType: string | undefined,
  ) => {
    let charged = 0;
    // JSON bodies (Connect unary and streaming) are measured for nesting as they arrive.
    const meter = /^application\/(connect\+)?json\b/i.test(contentType ?? "")
      ? createJsonDepthMeter()
      : undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    /** Set once the JSON nests too deep: the body is cut there. */
    const cut = { now: false, done: false };
    const release = (keepTimer = false) => {
      if (!keepTimer) clearTimeout(timer);
      if (done) return;
      done = true;
      stats.heldBytes -= charged;
      perConnection.set(connection, (perConnection.get(connection) ?? charged) - charged);
      charged = 0;
    };
    if (options.bodyTimeoutMs > 0 && !OPEN_ENDED.some((m) => path.endsWith(m))) {
      timer = setTimeout(() => {
        if (done && !cut.now) return; // a cut HTTP/1.1 body still has to end in time
        stats.timedOut++;
        warn({ path, timeoutMs: options.bodyTimeoutMs }, "request body timed out: reset");
        release();
        reset("timeout");
      }, options.bodyTimeoutMs);
      timer.unref();
    }
    const take = (chunk: Buffer) => {
      if (done) return;
      if (meter !== undefined && meter(chunk) > MAX_JSON_DEPTH) {
        stats.tooDeep++;
        warn({ path, maxDepth: MAX_JSON_DEPTH }, "JSON request nested too deep: body cut");
        // The body's real end is awaited (below): the body timeout still applies.
        release(true);
        cut.now = true;
        return;
      }
      const n = chunk.length;
      charged += n;
      stats.heldBytes += n;
      const onConnection = (perConnection.get(connection) ?? 0) + n;
      perConnection.set(connection, onConnection);
      if (onConnection > options.maxConnectionBytes || stats.heldBytes > options.maxProcessBytes) {
        stats.overLimit++;
        warn(
          {
            path,
            connectionBytes: onConnection,
            processBytes: stats.heldBytes,
            maxConnectionBytes: options.maxConnectionBytes,
            maxProcessBytes: options.maxProcessBytes,
          },
          "unfinished request bodies over their limit: reset",
        );
        release();
        reset("limit");
      }
    };
    /**
     * Passes a chunk on, or, once the body is cut, ends it with a byte no
     * JSON may hold: the handler's parser then fails at once and Connect
     * answers `invalid_argument` as for any bad JSON, while the rest of the
     * body is read and dropped (the connection stays usable).
     */
    const pass = (
      push: (chunk: unknown, encoding?: BufferEncoding) => boolean,
      chunk: unknown,
      encoding?: BufferEncoding,
    ): boolean => {
      if (!cut.now) return push(chunk, encoding);
      // Both protocols wait for the body's real end, dropping what comes:
      // answering a client still uploading made Node reset the connection
      // on HTTP/1.1 and, under load, whole HTTP/2 sessions.
      if (!cut.done && chunk === null) {
        cut.done = true;
        push(CUT);
        push(null);
      }
      return true;
    };
    return { take, release, pass, cut: () => cut.now };
  };

  return {
    stats,
    watchStream(stream, headers) {
      const session = stream.session;
      if (session === undefined) return;
      const { take, release, pass, cut } = account(
        session,
        (why) => {
          // Not from inside push(): that runs within nghttp2's read callback,
          // and a reset submitted there makes Node's session spin (Node 20).
          setImmediate(() => {
            if (!stream.destroyed && !stream.closed) {
              stream.close(
                why === "timeout"
                  ? http2.constants.NGHTTP2_CANCEL
                  : http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
              );
            }
          });
        },
        headers[":path"] ?? "",
        headers["content-type"],
      );
      if (stream.readableEnded || (stream as { endAfterHeaders?: boolean }).endAfterHeaders) {
        release();
        return;
      }
      // What arrived with the headers was pushed before the 'stream' event.
      takeBuffered(stream, take);
      // Counted where the session hands each chunk over (push), not with a
      // 'data' listener: that would start the flow before Node's compat
      // request attaches its own, and lose what came before.
      const push = stream.push.bind(stream);
      stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
        if (chunk === null || stream.headersSent) {
          release(); // ended, or being answered: read message by message from here on
        } else if (Buffer.isBuffer(chunk)) {
          take(chunk);
        }
        return pass(push, chunk, encoding);
      };
      // Cut in what came with the headers: end it now, no further chunk may come.
      if (cut()) pass(push, undefined);
      // Each comes at most once, and release() is idempotent: `on` spares once()'s wrapper per call.
      stream.on("end", release);
      stream.on("close", release);
    },
    watchRequest(req, res) {
      const {
        take,
        release,
        pass,
        cut: cutNow,
      } = account(
        req.socket,
        () => setImmediate(() => req.socket.destroy()),
        req.url?.split("?")[0] ?? "",
        req.headers["content-type"],
      );
      if (req.complete) {
        release();
        return;
      }
      takeBuffered(req, take);
      // The parser hands each chunk to push(); counting there keeps the
      // request in whatever mode its reader puts it (no 'data' listener).
      const push = req.push.bind(req);
      req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
        if (chunk === null) {
          release();
        } else if (res.headersSent && !cutNow()) {
          release(); // answered early: the rest is read and dropped by Node, not held
        } else if (Buffer.isBuffer(chunk)) {
          take(chunk);
        }
        return pass(push, chunk, encoding);
      };
      req.once("end", release);
      req.once("close", release);
    },
  };
}

/** What a cut JSON body ends with: NUL is not valid anywhere in JSON text. */
const CUT = Buffer.from([0]);

/** Counts the chunks a readable already holds (pushed before it was watched). */
function takeBuffered(readable: NodeJS.ReadableStream, take: (chunk: Buffer) => void): void {
  const buffer = (readable as { readableBuffer?: Iterable<unknown> }).readableBuffer;
  if (buffer === undefined || typeof buffer[Symbol.iterator] !== "function") return;
  for (const chunk of [...buffer]) {
    if (Buffer.isBuffer(chunk)) take(chunk);
  }
}
