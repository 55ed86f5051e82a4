import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { GrpcCall } from "./grpc-call.js";
import { DEFAULT_MAX_RESPONSE_BYTES } from "./grpc-frames.js";
import { errorFromNodeReason } from "./grpc-status.js";
import type { ScoreChannel, ScoreStreamCall, ScoreStreamHandlers } from "./score-channel.js";

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
