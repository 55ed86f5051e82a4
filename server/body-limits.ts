import type * as http from "node:http";
import * as http2 from "node:http2";
import type { Socket } from "node:net";
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
  /**
   * Counts one HTTP/2 stream whose reader hands over each chunk itself (the
   * gRPC fast path, which reads every chunk as it arrives): the same bounds
   * and timeout as {@link BodyLimits.watchStream}, without wrapping the
   * stream's `push` or adding listeners. The reader calls `take` with each
   * chunk while the stream is not being answered, and `release` when the
   * request side ends, the stream is answered or closed.
   *
   * @returns undefined when there is nothing to count (no session, or the request side has already ended).
   */
  countStream(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
  ): BodyCount | undefined;
  /** Watches one HTTP/1.1 request and its response; call before the handler reads it. */
  watchRequest(req: http.IncomingMessage, res: http.ServerResponse): void;
}

/** One body counted by {@link BodyLimits.countStream}. */
export interface BodyCount {
  /** Charges a chunk; over a bound the stream is reset (after this tick) and the body released. */
  take(chunk: Buffer): void;
  /** Stops counting and clears the body timer; idempotent. */
  release(): void;
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
  const shared: Shared = {
    options,
    stats: { heldBytes: 0, overLimit: 0, timedOut: 0, tooDeep: 0 },
    perConnection: new WeakMap<object, number>(),
    warn: createLogBudget(options.logger, { linesPerSecond: 1, burst: 5 }),
  };
  /** A stream's body to count; undefined once its session is gone. */
  const streamBody = (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
  ): Body | undefined => {
    const session = stream.session;
    if (session === undefined) return undefined;
    return new Body(
      shared,
      session,
      resetStream,
      stream,
      headers[":path"] ?? "",
      headers["content-type"],
    );
  };
  return {
    stats: shared.stats,
    watchStream(stream, headers) {
      const body = streamBody(stream, headers);
      if (body === undefined) return;
      if (stream.readableEnded || (stream as { endAfterHeaders?: boolean }).endAfterHeaders) {
        body.release();
        return;
      }
      // What arrived with the headers was pushed before the 'stream' event.
      takeBuffered(stream, body);
      // Counted where the session hands each chunk over (push), not with a
      // 'data' listener: that would start the flow before Node's compat
      // request attaches its own, and lose what came before.
      const push = stream.push;
      stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
        if (chunk === null || stream.headersSent) {
          body.release(); // ended, or being answered: read message by message from here on
        } else if (Buffer.isBuffer(chunk)) {
          body.take(chunk);
        }
        return body.pass(push, stream, chunk, encoding);
      };
      // Cut in what came with the headers: end it now, no further chunk may come.
      if (body.cutNow) body.pass(push, stream, undefined);
      (stream as Watched)[kBody] = body;
      // Each comes at most once, and release() is idempotent: `on` spares once()'s wrapper per call.
      stream.on("end", releaseBodyOf);
      stream.on("close", releaseBodyOf);
    },
    countStream(stream, headers) {
      if (stream.readableEnded || (stream as { endAfterHeaders?: boolean }).endAfterHeaders) {
        return undefined;
      }
      // What arrived with the headers reaches the reader as 'data' too: it is charged there.
      return streamBody(stream, headers);
    },
    watchRequest(req, res) {
      const body = new Body(
        shared,
        req.socket,
        destroySocket,
        req.socket,
        req.url?.split("?")[0] ?? "",
        req.headers["content-type"],
      );
      if (req.complete) {
        body.release();
        return;
      }
      takeBuffered(req, body);
      // The parser hands each chunk to push(); counting there keeps the
      // request in whatever mode its reader puts it (no 'data' listener).
      const push = req.push;
      req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
        if (chunk === null) {
          body.release();
        } else if (res.headersSent && !body.cutNow) {
          body.release(); // answered early: the rest is read and dropped by Node, not held
        } else if (Buffer.isBuffer(chunk)) {
          body.take(chunk);
        }
        return body.pass(push, req, chunk, encoding);
      };
      (req as Watched)[kBody] = body;
      req.once("end", releaseBodyOf);
      req.once("close", releaseBodyOf);
    },
  };
}

/** What every {@link Body} of one {@link createBodyLimits} shares. */
interface Shared {
  options: BodyLimitsOptions;
  stats: BodyLimitStats;
  /** Unfinished body bytes per connection (HTTP/2 session or HTTP/1.1 socket). */
  perConnection: WeakMap<object, number>;
  warn: (fields: object, message: string) => void;
}

/** The {@link Body} a watched request or stream carries, for the shared listeners below. */
const kBody = Symbol("body");
type Watched = { [kBody]?: Body };

/** 'end' and 'close' listener of every watched request or stream (one function, no closure each). */
function releaseBodyOf(this: Watched): void {
  this[kBody]?.release();
}

/** Resets an HTTP/2 stream whose body broke a bound. */
function resetStream(stream: unknown, why: "limit" | "timeout"): void {
  // Not from inside push(): that runs within nghttp2's read callback,
  // and a reset submitted there makes Node's session spin (Node 20).
  setImmediate(closeStream, stream as http2.ServerHttp2Stream, why);
}

function closeStream(stream: http2.ServerHttp2Stream, why: "limit" | "timeout"): void {
  if (!stream.destroyed && !stream.closed) {
    stream.close(
      why === "timeout"
        ? http2.constants.NGHTTP2_CANCEL
        : http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
    );
  }
}

/** Closes the HTTP/1.1 connection of a request whose body broke a bound. */
function destroySocket(socket: unknown): void {
  setImmediate(destroyNow, socket as Socket);
}

function destroyNow(socket: Socket): void {
  socket.destroy();
}

function onBodyTimeout(body: Body): void {
  body.timedOut();
}

/**
 * One request body, charged to its connection and the process from its
 * first byte until {@link Body.release}; `reset(target, why)` ends the
 * request when a bound is broken. One object per request, with its
 * methods on the prototype: this runs for every call the server takes.
 */
class Body implements BodyCount {
  private charged = 0;
  private done = false;
  private readonly timer: NodeJS.Timeout | undefined;
  /** JSON bodies (Connect unary and streaming) are measured for nesting as they arrive. */
  private readonly meter: ((chunk: Buffer) => number) | undefined;
  /** Set once the JSON nests too deep: the body is cut there. */
  cutNow = false;
  private cutDone = false;

  constructor(
    private readonly shared: Shared,
    private readonly connection: object,
    private readonly reset: (target: unknown, why: "limit" | "timeout") => void,
    private readonly target: unknown,
    private readonly path: string,
    contentType: string | undefined,
  ) {
    this.meter = /^application\/(connect\+)?json\b/i.test(contentType ?? "")
      ? createJsonDepthMeter()
      : undefined;
    const timeoutMs = shared.options.bodyTimeoutMs;
    if (timeoutMs > 0 && !isOpenEnded(path)) {
      this.timer = setTimeout(onBodyTimeout, timeoutMs, this);
      this.timer.unref();
    }
  }

  /** Stops counting (idempotent); the timer stays with `keepTimer`. */
  release(keepTimer = false): void {
    if (!keepTimer) clearTimeout(this.timer);
    if (this.done) return;
    this.done = true;
    const { stats, perConnection } = this.shared;
    stats.heldBytes -= this.charged;
    perConnection.set(
      this.connection,
      (perConnection.get(this.connection) ?? this.charged) - this.charged,
    );
    this.charged = 0;
  }

  timedOut(): void {
    if (this.done && !this.cutNow) return; // a cut HTTP/1.1 body still has to end in time
    const { stats, options, warn } = this.shared;
    stats.timedOut++;
    warn({ path: this.path, timeoutMs: options.bodyTimeoutMs }, "request body timed out: reset");
    this.release();
    this.reset(this.target, "timeout");
  }

  take(chunk: Buffer): void {
    if (this.done) return;
    const { stats, options, warn, perConnection } = this.shared;
    if (this.meter !== undefined && this.meter(chunk) > MAX_JSON_DEPTH) {
      stats.tooDeep++;
      warn({ path: this.path, maxDepth: MAX_JSON_DEPTH }, "JSON request nested too deep: body cut");
      // The body's real end is awaited (below): the body timeout still applies.
      this.release(true);
      this.cutNow = true;
      return;
    }
    const n = chunk.length;
    this.charged += n;
    stats.heldBytes += n;
    const onConnection = (perConnection.get(this.connection) ?? 0) + n;
    perConnection.set(this.connection, onConnection);
    if (onConnection > options.maxConnectionBytes || stats.heldBytes > options.maxProcessBytes) {
      stats.overLimit++;
      warn(
        {
          path: this.path,
          connectionBytes: onConnection,
          processBytes: stats.heldBytes,
          maxConnectionBytes: options.maxConnectionBytes,
          maxProcessBytes: options.maxProcessBytes,
        },
        "unfinished request bodies over their limit: reset",
      );
      this.release();
      this.reset(this.target, "limit");
    }
  }

  /**
   * Passes a chunk on to `readable`'s own `push`, or, once the body is
   * cut, ends it with a byte no JSON may hold: the handler's parser then
   * fails at once and Connect answers `invalid_argument` as for any bad
   * JSON, while the rest of the body is read and dropped (the connection
   * stays usable).
   */
  pass(
    push: (chunk: unknown, encoding?: BufferEncoding) => boolean,
    readable: unknown,
    chunk: unknown,
    encoding?: BufferEncoding,
  ): boolean {
    if (!this.cutNow) return push.call(readable, chunk, encoding);
    // Both protocols wait for the body's real end, dropping what comes:
    // answering a client still uploading made Node reset the connection
    // on HTTP/1.1 and, under load, whole HTTP/2 sessions.
    if (!this.cutDone && chunk === null) {
      this.cutDone = true;
      push.call(readable, CUT);
      push.call(readable, null);
    }
    return true;
  }
}

function isOpenEnded(path: string): boolean {
  for (const m of OPEN_ENDED) {
    if (path.endsWith(m)) return true;
  }
  return false;
}

/** What a cut JSON body ends with: NUL is not valid anywhere in JSON text. */
const CUT = Buffer.from([0]);

/** Counts the chunks a readable already holds (pushed before it was watched). */
function takeBuffered(readable: NodeJS.ReadableStream, body: Body): void {
  const buffer = (readable as { readableBuffer?: Iterable<unknown> & { length?: number } })
    .readableBuffer;
  if (buffer === undefined || typeof buffer[Symbol.iterator] !== "function") return;
  // Usually empty: the body comes after the 'stream' event. Node's buffer
  // list iterates with a generator; skip making one for nothing.
  if (buffer.length === 0) return;
  for (const chunk of [...buffer]) {
    if (Buffer.isBuffer(chunk)) body.take(chunk);
  }
}
