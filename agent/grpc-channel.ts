import * as http2 from "node:http2";
import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ScoringService,
  type StreamScoreRequest,
  StreamScoreRequestSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { DEFAULT_MAX_RESPONSE_BYTES, FRAME_HEADER_BYTES, GrpcFrameReader } from "./grpc-frames.js";
import type { ScoreChannel, ScoreStreamCall, ScoreStreamHandlers } from "./score-channel.js";
import { decodeStreamScoreResponse } from "./stream-score-view.js";

/** Options of {@link createGrpcChannel}. */
export interface GrpcChannelOptions {
  /** The server's base URL, `http://` (HTTP/2 without TLS) or `https://`; a path is a prefix. */
  target: string;
  /** Sent as `authorization: Bearer <key>` when set. */
  apiKey?: string;
  /** For an `https://` target: `ca` to verify the server (default: the system's CAs), `cert` and `key` for mTLS. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** An HTTP/2 PING this often while a call is open, ms. Default 10,000; 0 disables. */
  pingIntervalMs?: number;
  /** No PING answer within this long closes the connection and its calls, ms. Default 5,000. */
  pingTimeoutMs?: number;
  /** Longest response message taken, bytes. Default 4 MiB. */
  maxResponseBytes?: number;
}

const STREAM_PATH = `/${ScoringService.typeName}/StreamScore`;
/** `StreamScoreRequest.request_id` and `.events`, length-delimited. */
const TAG_REQUEST_ID = 0x0a;
const TAG_EVENTS = 0x12;

/**
 * A hand-written gRPC client for `ScoringService/StreamScore` over
 * `node:http2`: the server's fast path (`server/grpc-fast-path.ts`) in
 * reverse. Each call is one POST stream (`content-type: application/grpc`,
 * `te: trailers`, no compression) on a connection shared by the calls, which
 * is opened again once it has gone. Requests go out as length-prefixed
 * messages of the bytes `EventsEncoder` already wrote; responses are split
 * by `GrpcFrameReader` and read by `decodeStreamScoreResponse`; the status
 * comes from the trailers (or the headers of a trailers-only answer).
 * Errors are `ConnectError`s with the codes and messages connect-node's
 * gRPC transport gave (`[unavailable] connect ECONNREFUSED …`, the server's
 * `grpc-message`), so the agent reports and retries them as before.
 *
 * This replaces connect-node's transport, whose per-message machinery
 * (async iterables, envelopes, reflection-based serialization) was 12–16 %
 * of the agent's CPU (issue 22, goal 6).
 *
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */
export function createGrpcChannel(options: GrpcChannelOptions): ScoreChannel {
  return new GrpcChannel(options);
}

class GrpcChannel implements ScoreChannel {
  private readonly origin: string;
  private readonly headers: http2.OutgoingHttpHeaders;
  private readonly connectOptions: http2.SecureClientSessionOptions;
  private session: http2.ClientHttp2Session | undefined;
  /** Calls not yet settled: the connection keeps the process alive only while there are some. */
  private openCalls = 0;
  private closed = false;

  constructor(private readonly opts: GrpcChannelOptions) {
    let url: URL;
    try {
      url = new URL(opts.target);
    } catch {
      throw new Error(`target must be an http:// or https:// URL, got "${opts.target}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`target must be an http:// or https:// URL, got "${opts.target}"`);
    }
    this.origin = url.origin;
    this.headers = {
      ":method": "POST",
      ":path": `${url.pathname.replace(/\/+$/, "")}${STREAM_PATH}`,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-accept-encoding": "identity",
      "user-agent": "netanomaly-agent",
      ...(opts.apiKey === undefined ? {} : { authorization: `Bearer ${opts.apiKey}` }),
    };
    const tls = opts.tls ?? {};
    this.connectOptions = {
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
    };
  }

  open(handlers: ScoreStreamHandlers, signal: AbortSignal): ScoreStreamCall {
    if (this.closed) throw new Error("the channel is closed");
    const session = this.connect();
    this.openCalls++;
    session.ref();
    const onSettled = () => {
      this.openCalls--;
      if (this.openCalls === 0 && !session.destroyed) session.unref();
    };
    try {
      return new GrpcCall(
        session,
        this.headers,
        handlers,
        signal,
        this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
        onSettled,
      );
    } catch (e) {
      // The connection refused a new stream (it is closing): the next call takes a new one.
      onSettled();
      if (this.session === session) this.session = undefined;
      throw errorFromNodeReason(e);
    }
  }

  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }

  /** The shared connection, opened again when it has closed or the server sent GOAWAY. */
  private connect(): http2.ClientHttp2Session {
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = http2.connect(this.origin, this.connectOptions);
    this.session = session;
    // Reported by the calls on it, as their streams fail.
    session.on("error", () => {});
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    // Calls in progress finish on it; new ones take a new connection.
    session.on("goaway", forget);
    session.on("close", forget);
    this.keepAlive(session);
    return session;
  }

  /**
   * A peer that accepts and never answers is noticed (issue 23, item 9):
   * while a call is open, a PING every `pingIntervalMs`; no answer within
   * `pingTimeoutMs` closes the connection, which fails its calls (retried).
   */
  private keepAlive(session: http2.ClientHttp2Session): void {
    const intervalMs = this.opts.pingIntervalMs ?? 10_000;
    const timeoutMs = this.opts.pingTimeoutMs ?? 5_000;
    if (!(intervalMs > 0)) return;
    let waiting = false;
    const timer = setInterval(() => {
      if (waiting || this.openCalls === 0 || session.connecting || session.destroyed) return;
      waiting = true;
      const deadline = setTimeout(() => {
        session.destroy(new ConnectError("PING timed out", Code.Unavailable));
      }, timeoutMs);
      deadline.unref();
      const sent = session.ping(() => {
        clearTimeout(deadline);
        waiting = false;
      });
      if (!sent) {
        clearTimeout(deadline);
        waiting = false;
      }
    }, intervalMs);
    timer.unref();
    session.once("close", () => clearInterval(timer));
  }
}

/** One StreamScore call on one HTTP/2 stream. */
class GrpcCall implements ScoreStreamCall {
  readonly done: Promise<void>;
  private resolve: () => void = () => {};
  private reject: (e: unknown) => void = () => {};
  private settled = false;
  private readonly stream: http2.ClientHttp2Stream;
  private readonly reader: GrpcFrameReader;
  /** Requests sent while the connection is still being made. */
  private waiting: StreamScoreRequest[] | undefined;
  private ended = false;
  /** The status from trailers (or trailers-only headers), once read. */
  private status: ConnectError | null | undefined;
  /** What failed the call before the stream closed (bad headers, a bad message). */
  private failure: ConnectError | undefined;
  private streamError: unknown;
  private readonly onAbort: () => void;

  constructor(
    session: http2.ClientHttp2Session,
    headers: http2.OutgoingHttpHeaders,
    private readonly handlers: ScoreStreamHandlers,
    private readonly signal: AbortSignal,
    maxResponseBytes: number,
    private readonly onSettled: () => void,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {});
    this.reader = new GrpcFrameReader(maxResponseBytes);
    this.onAbort = () => {
      this.settle(signal.reason);
      if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    const stream = session.request(headers);
    this.stream = stream;
    stream.on("response", (h) => this.onHeaders(h));
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("trailers", (t) => this.readStatus(t));
    stream.on("error", (e) => {
      this.streamError ??= e;
    });
    stream.on("close", () => this.onClose());
    if (signal.aborted) {
      this.onAbort();
      return;
    }
    signal.addEventListener("abort", this.onAbort, { once: true });
    if (session.connecting) {
      // Requests leave (and count as taken) once the connection is up: a
      // call that fails to connect has taken none.
      this.waiting = [];
      session.once("connect", () => {
        const waiting = this.waiting ?? [];
        this.waiting = undefined;
        for (const r of waiting) this.write(r);
        if (this.ended) this.endStream();
      });
    }
  }

  send(request: StreamScoreRequest): void {
    if (this.settled) return;
    if (this.waiting !== undefined) this.waiting.push(request);
    else this.write(request);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiting === undefined) this.endStream();
  }

  private endStream(): void {
    if (!this.stream.closed && !this.stream.writableEnded) this.stream.end();
  }

  private write(request: StreamScoreRequest): void {
    const stream = this.stream;
    if (this.settled || stream.closed || stream.destroyed || stream.writableEnded) return;
    let frame: Buffer;
    try {
      frame = requestFrame(request);
    } catch (e) {
      this.fail(ConnectError.from(e, Code.Internal));
      return;
    }
    this.handlers.onTake(request);
    // Not waiting for 'drain': the stream client's window bounds what is queued.
    stream.write(frame);
  }

  private onHeaders(headers: http2.IncomingHttpHeaders): void {
    const status = Number(headers[":status"]);
    if (status !== 200) {
      this.fail(new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status)));
      return;
    }
    if (headers["grpc-status"] !== undefined) {
      // Trailers-only: the status comes in the headers and the stream ends.
      this.readStatus(headers);
      return;
    }
    const type = headers["content-type"];
    if (!(typeof type === "string" && /^application\/grpc(\+proto)?(;|$)/.test(type))) {
      this.fail(new ConnectError(`unsupported content type ${type}`, Code.Unknown));
      return;
    }
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      this.fail(
        new ConnectError(
          `protocol error: the server sent grpc-encoding ${encoding}, the agent asked for identity`,
          Code.Internal,
        ),
      );
    }
  }

  private onData(chunk: Buffer): void {
    if (this.settled) return;
    try {
      this.reader.push(chunk, (message) => {
        this.handlers.onResponse(decodeStreamScoreResponse(message));
      });
    } catch (e) {
      this.fail(e);
    }
  }

  /** `grpc-status` and `grpc-message` as an error (null for `ok`). */
  private readStatus(headers: http2.IncomingHttpHeaders): void {
    const raw = headers["grpc-status"];
    if (raw === undefined) return;
    const code = Number(raw);
    if (code === 0) {
      this.status = null;
      return;
    }
    const message = headers["grpc-message"];
    let text = typeof message === "string" ? message : "";
    try {
      text = decodeURIComponent(text);
    } catch {
      // Not percent-encoded as the spec asks: shown as it came.
    }
    this.status =
      Number.isInteger(code) && code > 0 && code <= 16
        ? new ConnectError(text, code as Code)
        : new ConnectError(`invalid grpc-status ${raw}: ${text}`, Code.Unknown);
  }

  /** Ends the call with `error` and cancels the stream. */
  private fail(error: unknown): void {
    this.failure ??= error instanceof ConnectError ? error : ConnectError.from(error);
    this.settle(this.failure);
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  private onClose(): void {
    if (this.settled) return;
    const status = this.status;
    if (status === null) {
      this.settle(
        this.reader.pending > 0
          ? new ConnectError(
              `protocol error: the stream ended inside a message (${this.reader.pending} bytes of it)`,
              Code.Internal,
            )
          : undefined,
      );
      return;
    }
    if (status !== undefined) {
      this.settle(status);
      return;
    }
    // A reset by the peer comes as ERR_HTTP2_STREAM_ERROR: its code says
    // more. Any other error (a refused or lost connection) says more than
    // the code the stream was closed with locally.
    let e = this.streamError;
    // A stream cancelled because its connection failed carries the failure
    // as its cause: reported as connect-node reports it ("connect ECONNREFUSED …").
    if (nodeErrorCode(e) === "ERR_HTTP2_STREAM_CANCEL" && (e as Error).cause instanceof Error) {
      e = (e as Error).cause;
    }
    if (e !== undefined && nodeErrorCode(e) !== "ERR_HTTP2_STREAM_ERROR") {
      this.settle(errorFromNodeReason(e));
      return;
    }
    const rst = this.stream.rstCode;
    const reset = rst === undefined ? undefined : errorFromH2ResetCode(rst);
    this.settle(
      reset ??
        (e !== undefined
          ? errorFromNodeReason(e)
          : new ConnectError("protocol error: missing status", Code.Internal)),
    );
  }

  /** Settles `done` once: resolved for `undefined`, else rejected. */
  private settle(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.signal.removeEventListener("abort", this.onAbort);
    this.waiting = undefined;
    this.onSettled();
    if (error === undefined) this.resolve();
    else this.reject(error);
  }
}

/**
 * A request as one length-prefixed gRPC message: `request_id`, then the
 * events `EventsEncoder` wrote (the unknown field holding them), copied once;
 * a request whose events travel as objects goes through `toBinary`.
 */
export function requestFrame(request: StreamScoreRequest): Buffer {
  const unknown = request.$unknown;
  const data =
    request.events.length === 0 &&
    unknown !== undefined &&
    unknown.length === 1 &&
    unknown[0]?.no === 2
      ? unknown[0].data
      : undefined;
  if (data === undefined && (request.events.length > 0 || (unknown?.length ?? 0) > 0)) {
    const body = toBinary(StreamScoreRequestSchema, request);
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, FRAME_HEADER_BYTES);
    return frame;
  }
  const id = request.requestId;
  const idBytes = Buffer.byteLength(id, "utf8");
  const length =
    (idBytes === 0 ? 0 : 1 + varintSize(idBytes) + idBytes) +
    (data === undefined ? 0 : 1 + data.length);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame[0] = 0;
  frame.writeUInt32BE(length, 1);
  let pos = FRAME_HEADER_BYTES;
  if (idBytes > 0) {
    frame[pos++] = TAG_REQUEST_ID;
    pos = writeVarint(frame, pos, idBytes);
    pos += frame.write(id, pos, "utf8");
  }
  if (data !== undefined) {
    frame[pos++] = TAG_EVENTS;
    frame.set(data, pos);
  }
  return frame;
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** The gRPC code for an HTTP status other than 200 (gRPC's http-grpc-status-mapping.md). */
function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

/**
 * A failure of the connection or stream as connect-node reports it
 * (`connectErrorFromNodeReason`): a refused, unresolvable or timed-out
 * connection is `unavailable` (worth a retry), a reset one `aborted`, the
 * rest `internal`; the original error is kept as `cause`.
 */
function errorFromNodeReason(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  // The codes along the `cause` chain: a stream cancelled because its
  // connection failed (ERR_HTTP2_STREAM_CANCEL) has the failure as its cause.
  const codes: string[] = [];
  for (let r = reason; r instanceof Error && codes.length < 8; r = r.cause) {
    codes.push(nodeErrorCode(r));
  }
  const has = (...names: string[]) => codes.some((c) => names.includes(c));
  let code = Code.Internal;
  if (
    has(
      "ERR_STREAM_WRITE_AFTER_END",
      "ERR_STREAM_DESTROYED",
      "ERR_HTTP2_INVALID_STREAM",
      "ECONNRESET",
    )
  ) {
    code = Code.Aborted;
  } else if (has("ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED")) {
    code = Code.Unavailable;
  }
  const error = ConnectError.from(reason, code);
  if (error !== reason) error.cause = reason;
  return error;
}

/** The `code` of a Node error (`ECONNREFUSED`), or "". */
function nodeErrorCode(reason: unknown): string {
  return reason instanceof Error && "code" in reason && typeof reason.code === "string"
    ? reason.code
    : "";
}

/** The error for a stream reset with HTTP/2 code `rst`, as connect-node maps it; undefined for NO_ERROR and unmapped codes. */
function errorFromH2ResetCode(rst: number): ConnectError | undefined {
  const c = http2.constants;
  const name: Record<number, [string, Code]> = {
    [c.NGHTTP2_PROTOCOL_ERROR]: ["PROTOCOL_ERROR", Code.Internal],
    [c.NGHTTP2_INTERNAL_ERROR]: ["INTERNAL_ERROR", Code.Internal],
    [c.NGHTTP2_FLOW_CONTROL_ERROR]: ["FLOW_CONTROL_ERROR", Code.Internal],
    [c.NGHTTP2_SETTINGS_TIMEOUT]: ["SETTINGS_TIMEOUT", Code.Internal],
    [c.NGHTTP2_FRAME_SIZE_ERROR]: ["FRAME_SIZE_ERROR", Code.Internal],
    [c.NGHTTP2_COMPRESSION_ERROR]: ["COMPRESSION_ERROR", Code.Internal],
    [c.NGHTTP2_CONNECT_ERROR]: ["CONNECT_ERROR", Code.Internal],
    [c.NGHTTP2_REFUSED_STREAM]: ["REFUSED_STREAM", Code.Unavailable],
    [c.NGHTTP2_CANCEL]: ["CANCEL", Code.Canceled],
    [c.NGHTTP2_ENHANCE_YOUR_CALM]: ["ENHANCE_YOUR_CALM", Code.ResourceExhausted],
    [c.NGHTTP2_INADEQUATE_SECURITY]: ["INADEQUATE_SECURITY", Code.PermissionDenied],
    [c.NGHTTP2_HTTP_1_1_REQUIRED]: ["HTTP_1_1_REQUIRED", Code.PermissionDenied],
  };
  const found = name[rst];
  if (found === undefined) return undefined;
  return new ConnectError(
    `http/2 stream closed with error code ${found[0]} (0x${rst.toString(16)})`,
    found[1],
  );
}
