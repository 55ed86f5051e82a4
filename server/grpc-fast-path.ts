import type * as http2 from "node:http2";
import { ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import {
  type ScoreRequest,
  ScoringService,
  type StreamScoreRequest,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { GrpcCall, GrpcMetrics } from "../metrics/index.js";
import { type ApiKeys, authenticate } from "./auth.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./auth-config.js";
import type { BodyCount, BodyLimits } from "./body-limits.js";
import {
  deadlineError,
  decodeError,
  grpcStatus,
  incompleteEnvelopeError,
  MAX_BATCH_EVENTS,
  messageTooLargeError,
  shuttingDownError,
  streamResetError,
  toRpcError,
  unaryMessageCountError,
  unexpectedCompressionError,
} from "./errors.js";
import { MAX_TIMER_MS, parseGrpcTimeoutMs } from "./grpc-timeout.js";
import { logRpcEnd } from "./logging.js";
import type { ModelHolder } from "./model-holder.js";
import {
  decodeScoreRequest,
  decodeStreamScoreRequest,
  encodeScoreResponseEnvelope,
  encodeStreamScoreResponseEnvelope,
} from "./network-event-codec.js";
import type { RateLimiter } from "./rate-limit.js";
import {
  checkRateLimit,
  type ScoringObserver,
  scoreBatchRequest,
  scoreRequest,
  snapshotDetector,
} from "./scoring-service.js";

/**
 * The gRPC fast path: plain gRPC (`application/grpc`, `application/grpc+proto`,
 * no compression) calls of `ScoringService/Score` and `/StreamScore` over
 * HTTP/2, served straight on the `Http2Stream` with the hand-written codec
 * instead of through connect-node, whose per-call machinery costs about
 * 1 ms of CPU here (bench/README.md, "Fast path"). Everything else — gRPC-Web,
 * Connect, JSON, compressed messages, HTTP/1.1, health, reflection, an
 * unparsable `grpc-timeout` — is left to `connectNodeAdapter`.
 *
 * It behaves as the Connect path does: the same scoring functions
 * (`scoreRequest`, `scoreBatchRequest`), validation, auth (`authenticate`),
 * rate limits, message size limit, model snapshot per request or batch,
 * error codes and messages (`errors.ts`), anomaly lines, and one summary line
 * per call (`logRpcEnd`), whose logger carries `path: "fast"`. Unary calls in
 * flight finish on shutdown; open streams end with `unavailable`.
 *
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */

/** Options for {@link createGrpcFastPath}. */
export interface GrpcFastPathOptions {
  models: ModelHolder;
  /** Root logger; each method logs through one child `{ rpc, path: "fast" }`. */
  logger: Logger;
  /** API keys; none: every caller is its address, as with the auth interceptor. */
  apiKeys?: ApiKeys;
  rateLimiter?: RateLimiter;
  /** Largest request message in bytes; default 4 MiB. */
  maxMessageBytes?: number;
  /** Aborted by shutdown: open streams end with `unavailable`. */
  closing: AbortSignal;
  /** Told what each request or batch scored (metrics, alerts), as on the Connect path. */
  observer?: ScoringObserver;
  /** gRPC server metrics, counted as the Connect path's interceptor counts them. */
  grpcMetrics?: GrpcMetrics;
  /**
   * Request body bounds: each call's body is counted from the chunks the
   * call reads (`countStream`), as `watchStream` counts every other stream's.
   * Default none.
   */
  bodyLimits?: BodyLimits;
}

/** A fast path built by {@link createGrpcFastPath}. */
export interface GrpcFastPath {
  /**
   * Serves `stream` if it is a call the fast path takes.
   *
   * @returns true if it took the stream; false: hand it to Connect untouched.
   */
  serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean;
}

const SCORE_PATH = `/${ScoringService.typeName}/Score`;
const STREAM_PATH = `/${ScoringService.typeName}/StreamScore`;

const EMPTY = Buffer.alloc(0);

/** What connect-es answers with for binary gRPC. */
const RESPONSE_HEADERS = { ":status": 200, "content-type": "application/grpc+proto" };

/** The trailers of every call that ends without an error (Node only reads them). */
const OK_TRAILERS: http2.OutgoingHttpHeaders = Object.freeze({ "grpc-status": "0" });

type Method = "score" | "stream";

/**
 * Creates the fast path. Call `serve(req)` first in the HTTP/2 request
 * handler; when it returns false, pass the request on to Connect.
 */
export function createGrpcFastPath(options: GrpcFastPathOptions): GrpcFastPath {
  const shared: Shared = {
    models: options.models,
    keys: options.apiKeys,
    rateLimiter: options.rateLimiter,
    maxBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    closing: options.closing,
    logs: {
      score: options.logger.child({ rpc: SCORE_PATH.slice(1), path: "fast" }),
      stream: options.logger.child({ rpc: STREAM_PATH.slice(1), path: "fast" }),
    },
    open: new Set(),
    observer: options.observer,
    grpcMetrics: options.grpcMetrics,
    bodyLimits: options.bodyLimits,
  };
  options.closing.addEventListener(
    "abort",
    () => {
      for (const call of [...shared.open]) {
        call.finish(shuttingDownError());
      }
    },
    { once: true },
  );
  const serve = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean => {
    if (headers[":method"] !== "POST") {
      return false;
    }
    const path = headers[":path"];
    const method: Method | undefined =
      path === SCORE_PATH ? "score" : path === STREAM_PATH ? "stream" : undefined;
    if (method === undefined) {
      return false;
    }
    const type = headers["content-type"];
    if (type !== "application/grpc" && type !== "application/grpc+proto") {
      return false;
    }
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      return false; // compressed messages: Connect decompresses
    }
    const timeoutMs = parseTimeout(headers["grpc-timeout"]);
    if (timeoutMs === null) {
      return false; // malformed: Connect answers it with invalid_argument
    }
    const auth = headers.authorization;
    new FastCall(
      shared,
      method,
      stream,
      Array.isArray(auth) ? auth.join(", ") : auth,
      timeoutMs,
      shared.bodyLimits?.countStream(stream, headers),
    );
    return true;
  };
  return { serve };
}

/**
 * `grpc-timeout` in ms: `undefined` for none (absent, or longer than a Node
 * timer can wait), `null` for a value that is not `1*8DIGIT unit`.
 */
function parseTimeout(value: string | string[] | undefined): number | undefined | null {
  const ms = parseGrpcTimeoutMs(value);
  return ms !== null && ms !== undefined && ms > MAX_TIMER_MS ? undefined : ms;
}

interface Shared {
  models: ModelHolder;
  keys: ApiKeys | undefined;
  rateLimiter: RateLimiter | undefined;
  maxBytes: number;
  closing: AbortSignal;
  logs: Record<Method, Logger>;
  open: Set<FastCall>;
  observer: ScoringObserver | undefined;
  grpcMetrics: GrpcMetrics | undefined;
  bodyLimits: BodyLimits | undefined;
}

/** The call a stream carries, for the listeners {@link FastCall} shares between streams. */
const kCall = Symbol("call");
type CallStream = http2.ServerHttp2Stream & { [kCall]?: FastCall };

function ignoreError(): void {}

function onCallClose(this: CallStream): void {
  const call = this[kCall] as FastCall;
  if (!call.done) {
    call.end(streamResetError(this.rstCode ?? 0x8));
  }
}

function onCallData(this: CallStream, chunk: Buffer): void {
  (this[kCall] as FastCall).onData(chunk);
}

function onCallEnd(this: CallStream): void {
  (this[kCall] as FastCall).onEnd();
}

/** 'wantTrailers' listener: emitted once, after end(). */
function sendCallTrailers(this: CallStream): void {
  this.sendTrailers((this[kCall] as FastCall).trailers);
}

/** One call on one HTTP/2 stream: framing in, scoring, framing and trailers out. */
class FastCall {
  private readonly start = performance.now();
  private readonly log: Logger;
  done = false;
  private headersSent = false;
  private client = "";
  private timer: NodeJS.Timeout | undefined;
  // Framing: received chunks not yet consumed, and the message being read.
  private chunks: Buffer[] = [];
  private buffered = 0;
  private msgLen = -1;
  private msgFlags = 0;
  // Unary: the one request message.
  private unary: ScoreRequest | undefined;
  private scores: Float64Array | undefined;
  private corked = false;
  private readonly metrics: GrpcCall | undefined;
  /** What `finish` answers with. */
  trailers = OK_TRAILERS;

  constructor(
    private readonly shared: Shared,
    private readonly method: Method,
    private readonly stream: http2.ServerHttp2Stream,
    private readonly authorization: string | undefined,
    timeoutMs: number | undefined,
    /** The request body, counted against the body bounds until released. */
    private body: BodyCount | undefined,
  ) {
    this.log = shared.logs[method];
    this.metrics = shared.grpcMetrics?.start(
      ScoringService.typeName,
      method === "score" ? "Score" : "StreamScore",
      method === "score" ? "unary" : "bidi_stream",
    );
    // The stream's listeners are shared functions that find this call on
    // the stream: no closures per call.
    (stream as CallStream)[kCall] = this;
    stream.on("error", ignoreError); // reported by 'close' below
    // 'close' and 'end' come at most once per stream: `on` spares once()'s wrapper per call.
    stream.on("close", onCallClose);
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(() => this.finish(deadlineError()), timeoutMs);
    }
    if (method === "stream") {
      // Streams authenticate before reading, as Connect's interceptors run first.
      try {
        this.client = this.authenticate();
      } catch (e) {
        this.fail(e);
        return;
      }
      if (shared.closing.aborted) {
        this.finish(shuttingDownError());
        return;
      }
      shared.open.add(this);
      this.scores = new Float64Array(MAX_BATCH_EVENTS);
    }
    stream.on("data", onCallData);
    stream.on("end", onCallEnd);
  }

  /**
   * The caller: its key's name, or `ip:<address>` without keys. Only the
   * rate limiter reads it, so without keys or limiter it is not worked out.
   */
  private authenticate(): string {
    const keys = this.shared.keys;
    if ((keys === undefined || keys.size === 0) && this.shared.rateLimiter === undefined) {
      return "";
    }
    const remote = this.stream.session?.socket?.remoteAddress ?? "";
    if (keys === undefined || keys.size === 0) {
      return `ip:${remote}`;
    }
    return authenticate(keys, this.authorization, remote, true);
  }

  /** Stops counting the request body against the body bounds. */
  private releaseBody(): void {
    if (this.body !== undefined) {
      this.body.release();
      this.body = undefined;
    }
  }

  onData(chunk: Buffer): void {
    if (this.done) {
      return; // drained after an early answer
    }
    // Counted until the request side ends or the answer starts (respond()).
    this.body?.take(chunk);
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (!this.corked && this.method === "stream") {
      // Answers to the messages read in this tick leave in one write.
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    while (!this.done) {
      if (this.msgLen < 0) {
        if (this.buffered < 5) {
          return;
        }
        const head = this.take(5);
        const len = head.readUInt32BE(1);
        if (len > this.shared.maxBytes) {
          this.finish(messageTooLargeError(len, this.shared.maxBytes));
          return;
        }
        this.msgFlags = head[0] as number;
        this.msgLen = len;
      }
      if (this.buffered < this.msgLen) {
        return;
      }
      const message = this.take(this.msgLen);
      this.msgLen = -1;
      if ((this.msgFlags & 1) === 1) {
        this.finish(unexpectedCompressionError());
        return;
      }
      if (this.method === "stream") {
        this.onStreamMessage(message);
      } else {
        this.onUnaryMessage(message);
      }
    }
  }

  /** Takes `n` buffered bytes, without a copy when one chunk holds them. */
  private take(n: number): Buffer {
    if (n === 0) {
      return EMPTY;
    }
    this.buffered -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      if (first.length === n) {
        this.chunks.shift();
      } else {
        this.chunks[0] = first.subarray(n);
      }
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) {
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(k);
      }
    }
    return out;
  }

  private onUnaryMessage(message: Buffer): void {
    // Decode each as it comes (Connect parses a second message before
    // refusing it); answer only at the end of the request.
    let req: ScoreRequest;
    try {
      req = decodeScoreRequest(message);
    } catch (e) {
      this.finish(decodeError(e));
      return;
    }
    if (this.unary !== undefined) {
      this.finish(unaryMessageCountError("extra"));
      return;
    }
    this.metrics?.received();
    this.unary = req;
  }

  private onStreamMessage(message: Buffer): void {
    if (this.shared.closing.aborted) {
      this.finish(shuttingDownError());
      return;
    }
    let req: StreamScoreRequest;
    try {
      req = decodeStreamScoreRequest(message);
    } catch (e) {
      this.finish(decodeError(e));
      return;
    }
    this.metrics?.received();
    try {
      checkRateLimit(this.shared.rateLimiter, this.client, req.events.length, this.shared.observer);
      const res = scoreBatchRequest(
        req,
        snapshotDetector(this.shared.models),
        this.scores as Float64Array,
        this.log,
        undefined,
        this.shared.observer,
        this.shared.models.observer,
      );
      this.write(encodeStreamScoreResponseEnvelope(res));
    } catch (e) {
      this.fail(e);
    }
  }

  onEnd(): void {
    this.releaseBody();
    if (this.done) {
      return;
    }
    if (this.buffered > 0 || this.msgLen >= 0) {
      this.finish(incompleteEnvelopeError());
      return;
    }
    if (this.method === "stream") {
      this.finish(undefined);
      return;
    }
    if (this.unary === undefined) {
      this.finish(unaryMessageCountError("missing"));
      return;
    }
    try {
      this.client = this.authenticate();
      const res = scoreRequest(
        this.unary,
        this.shared.models,
        this.shared.rateLimiter,
        this.client,
        this.log,
        this.shared.observer,
      );
      this.metrics?.sent();
      this.finish(undefined, undefined, encodeScoreResponseEnvelope(res));
    } catch (e) {
      this.fail(e);
    }
  }

  private respond(): void {
    if (!this.headersSent) {
      this.headersSent = true;
      // Being answered: read message by message from here on, not held.
      this.releaseBody();
      this.stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    }
  }

  /** Writes one response message; a full send buffer pauses reading until it drains. */
  private write(envelope: Buffer): void {
    this.respond();
    this.metrics?.sent();
    if (!this.stream.write(envelope)) {
      this.stream.pause();
      this.stream.once("drain", () => {
        if (!this.done) {
          this.stream.resume();
        }
      });
    }
  }

  /** Ends the call with what a handler threw; a bug is logged with its cause. */
  private fail(thrown: unknown): void {
    this.finish(toRpcError(thrown), thrown instanceof ConnectError ? undefined : thrown);
  }

  /** Ends the call with `grpc-status` 0 (no error) or the error's code, after `last` if given, and logs it. */
  finish(error: ConnectError | undefined, bug?: unknown, last?: Buffer): void {
    if (this.done) {
      return;
    }
    const stream = this.stream;
    if (stream.destroyed || stream.closed) {
      this.end(error, bug);
      return;
    }
    this.respond();
    if (error !== undefined) {
      const trailers: http2.OutgoingHttpHeaders = { "grpc-status": "0" }; // first, as Connect orders them
      error.metadata.forEach((value, key) => {
        trailers[key] = value;
      });
      trailers["grpc-status"] = grpcStatus(error);
      trailers["grpc-message"] = encodeURIComponent(error.rawMessage);
      this.trailers = trailers;
    }
    stream.on("wantTrailers", sendCallTrailers);
    if (last === undefined) {
      stream.end();
    } else {
      stream.end(last);
    }
    // Whatever the client still sends is read and dropped.
    stream.resume();
    this.end(error, bug);
  }

  end(error: ConnectError | undefined, bug?: unknown): void {
    this.done = true;
    this.releaseBody();
    this.chunks = [];
    this.unary = undefined;
    clearTimeout(this.timer);
    this.shared.open.delete(this);
    this.metrics?.end(error?.code);
    logRpcEnd(this.log, this.start, bug ?? error);
  }
}
