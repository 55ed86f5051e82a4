import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { StreamScoreRequest } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { GrpcFrameReader, requestFrame } from "./grpc-frames.js";
import {
  codeFromHttpStatus,
  errorFromH2ResetCode,
  errorFromNodeReason,
  nodeErrorCode,
} from "./grpc-status.js";
import type { ScoreStreamCall, ScoreStreamHandlers } from "./score-channel.js";
import { decodeStreamScoreResponse } from "./stream-score-view.js";

/** One StreamScore call on one HTTP/2 stream. */
export class GrpcCall implements ScoreStreamCall {
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
