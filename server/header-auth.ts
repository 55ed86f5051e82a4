import type * as http from "node:http";
import * as http2 from "node:http2";
import { Code, type ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { type GrpcMetrics, type GrpcType, grpcTypeOf } from "../metrics/grpc-metrics.js";
import { type ApiKeys, authenticate } from "./auth.js";
import { grpcStatus } from "./errors.js";
import { logRpcEnd } from "./logging.js";

/**
 * Authentication from the request headers alone, before a byte of the body
 * is read. Connect runs interceptors only once a unary request's body is in
 * memory, so a client without a key could make the server buffer up to
 * `--max-message-bytes` per stream (issue 23, item 1). Here a call that needs
 * a key and has none (or a wrong one) is answered `unauthenticated` from its
 * headers, in the framing of its protocol, and its body is never read: on
 * HTTP/2 the stream is reset with NO_ERROR after the answer, on HTTP/1.1 the
 * connection is closed after it.
 *
 * The answer is what the auth interceptor would have given (same code and
 * message), and the call is logged with its code as any other, and counted
 * in the gRPC metrics (started, handled `Unauthenticated`) when it names a
 * method of the scoring service.
 */

/** Options for {@link createHeaderAuth}. */
export interface HeaderAuthOptions {
  keys: ApiKeys;
  /** Protect every service, not only `netanomaly.v1.ScoringService`. */
  all: boolean;
  logger: Logger;
  /** Counts refused calls to the scoring service as the metrics interceptor would. */
  grpcMetrics?: GrpcMetrics;
}

/** A header check built by {@link createHeaderAuth}. */
export interface HeaderAuth {
  /**
   * Answers an HTTP/2 stream that needs a key it lacks.
   *
   * @returns true if the stream was answered (leave it alone), false to serve it.
   */
  checkStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean;
  /** The same for an HTTP/1.1 request (or an HTTP/2 compat request). */
  checkRequest(req: http.IncomingMessage, res: http.ServerResponse): boolean;
}

/** How a protocol carries an error, from the request's content type. */
type Framing = "grpc" | "grpc-web" | "connect-stream" | "connect-unary";

function framingOf(contentType: string | undefined): Framing | undefined {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type === "application/grpc" || type.startsWith("application/grpc+")) return "grpc";
  if (type.startsWith("application/connect+")) return "connect-stream";
  if (type === "application/json" || type === "application/proto") return "connect-unary";
  return undefined;
}

const SCORING_PREFIX = `/${ScoringService.typeName}/`;

/** `grpc_type` of each scoring method by path: a fixed set, so no label is unbounded. */
const SCORING_TYPES = new Map<string, GrpcType>(
  ScoringService.methods.map((m) => [`${SCORING_PREFIX}${m.name}`, grpcTypeOf(m.methodKind)]),
);

/** Methods that stream (client, server or both): Connect frames them as `application/connect+*`. */
const STREAMING = ["/StreamScore", "/WatchAnomalies", "/ServerReflectionInfo", "/Watch"];

/** Status, headers and body that answer `error` in `framing`. */
function answer(
  framing: Framing,
  contentType: string,
  error: ConnectError,
): { status: number; headers: Record<string, string>; body: Buffer | undefined } {
  const code = "unauthenticated";
  switch (framing) {
    case "grpc":
    case "grpc-web":
      // Trailers-only: the status travels in the headers, no body.
      return {
        status: 200,
        headers: {
          "content-type": contentType,
          "grpc-status": String(grpcStatus(error)),
          "grpc-message": encodeURIComponent(error.rawMessage),
        },
        body: undefined,
      };
    case "connect-stream": {
      const json = Buffer.from(JSON.stringify({ error: { code, message: error.rawMessage } }));
      const head = Buffer.alloc(5);
      head[0] = 0b10; // end-stream message
      head.writeUInt32BE(json.length, 1);
      return {
        status: 200,
        headers: { "content-type": contentType },
        body: Buffer.concat([head, json]),
      };
    }
    case "connect-unary":
      return {
        status: 401,
        headers: { "content-type": "application/json" },
        body: Buffer.from(JSON.stringify({ code, message: error.rawMessage })),
      };
  }
}

/** Creates the header check; with no keys it lets everything through. */
export function createHeaderAuth(options: HeaderAuthOptions): HeaderAuth {
  const { keys, all, logger, grpcMetrics } = options;
  const count = (path: string | undefined) => {
    const type = path === undefined ? undefined : SCORING_TYPES.get(path);
    if (grpcMetrics === undefined || type === undefined) return;
    const method = (path as string).slice(SCORING_PREFIX.length);
    grpcMetrics.start(ScoringService.typeName, method, type).end(Code.Unauthenticated);
  };
  const logs = new Map<string, Logger>();
  const logFor = (path: string): Logger => {
    const rpc = path.slice(1);
    let log = logs.get(rpc);
    if (log === undefined) {
      log = logger.child({ rpc, path: "header-auth" });
      // Only paths of real methods reach here; still, bound the cache.
      if (logs.size < 1024) logs.set(rpc, log);
    }
    return log;
  };
  /** The error to answer with, or undefined to serve the call. */
  const refusal = (
    method: string | undefined,
    path: string | undefined,
    contentType: string | undefined,
    authorization: string | string[] | undefined,
    remote: string,
  ): { error: ConnectError; framing: Framing } | undefined => {
    if (keys.size === 0 || method !== "POST" || path === undefined) return undefined;
    if (!all && !path.startsWith(SCORING_PREFIX)) return undefined;
    const framing = framingOf(contentType);
    const streaming = STREAMING.some((m) => path.endsWith(m));
    // Unknown types, and Connect's unary framing on a streaming method (or the
    // reverse): Connect answers 415 without reading the body.
    if (framing === undefined) return undefined;
    if ((framing === "connect-stream") !== streaming && framing.startsWith("connect")) {
      return undefined;
    }
    const header = Array.isArray(authorization) ? authorization.join(", ") : authorization;
    try {
      authenticate(keys, header, remote, true);
      return undefined;
    } catch (e) {
      return { error: e as ConnectError, framing };
    }
  };
  return {
    checkStream(stream, headers) {
      if (keys.size === 0) return false; // nothing to check: spare the clock and header reads per call
      const start = performance.now();
      const path = headers[":path"];
      const type = headers["content-type"];
      const refused = refusal(
        headers[":method"],
        path,
        type,
        headers.authorization,
        stream.session?.socket?.remoteAddress ?? "",
      );
      if (refused === undefined) return false;
      const { status, headers: out, body } = answer(refused.framing, type ?? "", refused.error);
      stream.on("error", () => {});
      if (!stream.destroyed && !stream.closed) {
        if (body === undefined) {
          stream.respond({ ":status": status, ...out }, { endStream: true });
        } else {
          stream.respond({ ":status": status, ...out });
          stream.end(body);
        }
        // The answer is queued; the request side is closed so the client stops uploading.
        setImmediate(() => {
          if (!stream.destroyed && !stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
        });
      }
      logRpcEnd(logFor(path as string), start, refused.error);
      count(path);
      return true;
    },
    checkRequest(req, res) {
      if (keys.size === 0) return false;
      const start = performance.now();
      const type = req.headers["content-type"];
      const refused = refusal(
        req.method,
        req.url?.split("?")[0],
        type,
        req.headers.authorization,
        req.socket.remoteAddress ?? "",
      );
      if (refused === undefined) return false;
      const { status, headers: out, body } = answer(refused.framing, type ?? "", refused.error);
      // The body is never read: the connection closes after the answer
      // (Node would otherwise read and discard it to reuse the connection).
      res.shouldKeepAlive = false;
      res.writeHead(status, { ...out, connection: "close" });
      res.end(body, () => req.socket.destroySoon());
      const url = req.url?.split("?")[0];
      logRpcEnd(logFor(url ?? "/"), start, refused.error);
      count(url);
      return true;
    },
  };
}
