import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Server, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  type ConnectRouter,
  type ConnectRouterOptions,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import {
  type AnomalyBroadcaster,
  createAnomalyBroadcaster,
} from "../dashboard/anomaly-broadcaster.js";
import type { Detector } from "../detector/detector.js";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { GrpcMetrics } from "../metrics/index.js";
import {
  type ApiKeys,
  createApiKeys,
  createAuthInterceptor,
  isLoopbackAddress,
  remoteAddressKey,
} from "./auth.js";
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_STREAMS,
} from "./auth-config.js";
import {
  type BodyLimitStats,
  createBodyLimits,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTION_BODY_BYTES,
  DEFAULT_MAX_PROCESS_BODY_BYTES,
} from "./body-limits.js";
import {
  type ConnectionStats,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  limitConnections,
} from "./connection-limits.js";
import { createGrpcFastPath } from "./grpc-fast-path.js";
import { MAX_TIMER_MS, parseGrpcTimeoutMs } from "./grpc-timeout.js";
import { createHeaderAuth } from "./header-auth.js";
import { createHealthService, type HealthService } from "./health.js";
import { interceptStreams } from "./intercept-streams.js";
import { createLoggingInterceptor } from "./logging.js";
import { createModelHolder, type ModelHolder } from "./model-holder.js";
import { createProtocolSniffer } from "./protocol-sniffer.js";
import type { RateLimiter } from "./rate-limit.js";
import { createRoutes } from "./routes.js";
import type { FeedbackHandler, ScoringObserver } from "./scoring-service.js";
import { createTlsListener, type TlsCredentials } from "./tls.js";

/** Services the health service reports on: `""` is the whole server. */
export const HEALTH_SERVICES = ["", ScoringService.typeName] as const;

/** Options for {@link createServer}. */
export interface ServerOptions {
  /** The detector to score with; ignored when `models` is given. */
  detector?: Detector;
  /** Holder of the detector, for hot reload; default: one holding `detector` (or nothing). */
  models?: ModelHolder;
  /** Root logger; each RPC logs through a child of it. */
  logger: Logger;
  /**
   * API keys `ScoringService` callers must send as `authorization: Bearer
   * <key>`. Default none: no key is checked, and (unless `insecure`) only
   * loopback peers may connect at all.
   */
  apiKeys?: ApiKeys;
  /** Require a key for health and reflection too. Default false. */
  authAll?: boolean;
  /** With no keys, accept connections from any address. Default false (loopback only). */
  insecure?: boolean;
  /** Serve TLS (HTTP/2 via ALPN and HTTP/1.1), mTLS when `clientCa` is set. Default cleartext. */
  tls?: TlsCredentials;
  /** Largest request message, bytes; bigger ones get `resource_exhausted`. Default 4 MiB. */
  maxMessageBytes?: number;
  /** HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` per connection. Default 100. */
  maxStreams?: number;
  /** Per-client request and event limits. Default none. */
  rateLimiter?: RateLimiter;
  /**
   * An HTTP/2 connection with no open stream and no traffic for this long
   * is closed, in milliseconds. Default 60 000. This also reaps connections
   * a client broke with a protocol error: Node sends GOAWAY but neither
   * closes them nor notices the client's EOF.
   */
  idleTimeoutMs?: number;
  /**
   * Serve plain gRPC `Score` and `StreamScore` calls on HTTP/2 without
   * Connect (see `grpc-fast-path.ts`); everything else goes through Connect
   * either way. Default true.
   */
  fastPath?: boolean;
  /** Told what each request or batch scored, rejected and flagged (metrics, alerts). */
  observer?: ScoringObserver;
  /**
   * gRPC server metrics: counted by `interceptor` on the Connect path and by
   * the fast path itself. Default none.
   */
  metrics?: { grpc: GrpcMetrics; interceptor: Interceptor };
  /** Answers the Feedback RPC; default: `failed_precondition` (no alert outputs). */
  feedback?: FeedbackHandler;
  /** Open connections in total; more are closed as accepted. Default 1024. */
  maxConnections?: number;
  /** Open connections per client address; more are closed as accepted. Default 256. */
  maxConnectionsPerIp?: number;
  /** Unfinished request body bytes one connection may hold (see `body-limits.ts`). Default 16 MiB. */
  maxConnectionBodyBytes?: number;
  /** Unfinished request body bytes the process may hold. Default 128 MiB. */
  maxProcessBodyBytes?: number;
  /** A request body must be complete this long after its headers, ms; 0: no limit. Default 30 000. */
  bodyTimeoutMs?: number;
  /** HTTP/1.1 request headers must be complete this long after the connection's last request, ms. Default 10 000. */
  headerTimeoutMs?: number;
}

/** Default time HTTP/1.1 request headers may take, ms. */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;

/** A server built by {@link createServer}; nothing listens until `listen`. */
export interface NetanomalyServer {
  /** The listener: cleartext (HTTP/2 prior knowledge and HTTP/1.1) or TLS (ALPN), one port. */
  readonly server: Server;
  readonly health: HealthService;
  readonly models: ModelHolder;
  /** Where scores and anomalies go for `WatchAnomalies`; see `noteReload` for reloads. */
  readonly broadcaster: AnomalyBroadcaster;
  /** The server's routes, interceptors and limits, for another listener (the dashboard's). */
  readonly connect: ServerParts["connect"];
  /** Aborted by shutdown: watch streams on any listener end with `unavailable`. */
  readonly closing: AbortSignal;
  /**
   * This server's header auth and body bounds for an HTTP/1.1 request that
   * another listener (the dashboard's) takes; true when it answered the
   * request itself (refused), false to go on.
   */
  guardHttp1(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  /** Listens on `host:port` (port 0 picks a free one) and resolves with the address. */
  listen(port: number, host: string): Promise<AddressInfo>;
  /**
   * Shuts down gracefully: health goes `NOT_SERVING`, the listener stops
   * accepting, open `StreamScore` streams end with `unavailable` after the
   * batch in hand, in-flight unary calls finish, then connections close.
   * Connections still open after `deadlineMs` (default 10 000) are destroyed.
   *
   * @returns `"graceful"`, or `"forced"` if the deadline passed.
   */
  shutdown(deadlineMs?: number): Promise<"graceful" | "forced">;
  /** Connection and request body counters, live. */
  readonly stats: { connections: Readonly<ConnectionStats>; bodies: Readonly<BodyLimitStats> };
}

/** The transport-independent parts of a server, shared by every listener flavour. */
export interface ServerParts {
  readonly models: ModelHolder;
  readonly health: HealthService;
  readonly broadcaster: AnomalyBroadcaster;
  /** `options.observer` and the broadcaster's, for both scoring paths. */
  readonly observer: ScoringObserver;
  /** Aborted by shutdown: open streams wind down. */
  readonly closing: AbortController;
  /** Routes, the logging interceptor and message limits, for `connectNodeAdapter` or `createRouterTransport`. */
  readonly connect: ConnectRouterOptions & { routes: (router: ConnectRouter) => void };
}

/**
 * Builds everything but the listener: model holder, health (`SERVING` for
 * `""` and `netanomaly.v1.ScoringService` exactly while a model is loaded),
 * routes and interceptors. `createServer` puts a cleartext listener in front;
 * a TLS listener (`http2.createSecureServer({ allowHTTP1: true })`) can take
 * the same `connectNodeAdapter(parts.connect)`.
 */
export function createServerParts(options: ServerOptions): ServerParts {
  const models = options.models ?? createModelHolder(options.detector);
  const health = createHealthService({ services: HEALTH_SERVICES });
  const markServing = () => {
    for (const service of HEALTH_SERVICES) {
      health.setStatus(service, ServingStatus.SERVING);
    }
  };
  if (models.current() !== undefined) {
    markServing();
  }
  models.onSwap(markServing);
  const closing = new AbortController();
  const broadcaster = createAnomalyBroadcaster({ models });
  const observer = joinObservers(options.observer, broadcaster.observer);
  const routes = createRoutes({
    models,
    broadcaster,
    logger: options.logger,
    health,
    closing: closing.signal,
    observer,
    ...(options.rateLimiter === undefined ? {} : { rateLimiter: options.rateLimiter }),
    ...(options.feedback === undefined ? {} : { feedback: options.feedback }),
  });
  const auth = createAuthInterceptor({
    keys: options.apiKeys ?? createApiKeys([]),
    all: options.authAll ?? false,
  });
  return {
    models,
    health,
    broadcaster,
    observer,
    closing,
    connect: {
      routes,
      // Metrics, then logging outermost, so rejected calls are counted and logged with their code.
      interceptors: [
        ...(options.metrics === undefined ? [] : [options.metrics.interceptor]),
        createLoggingInterceptor(options.logger),
        auth,
      ],
      readMaxBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    },
  };
}

/** One observer telling `first` (if any), then `second`, everything. */
function joinObservers(
  first: ScoringObserver | undefined,
  second: ScoringObserver,
): ScoringObserver {
  if (first === undefined) {
    return second;
  }
  return {
    scored(detector, scores, n, anomalies) {
      first.scored(detector, scores, n, anomalies);
      second.scored(detector, scores, n, anomalies);
    },
    rejected(field, n) {
      first.rejected(field, n);
      second.rejected(field, n);
    },
    rateLimited() {
      first.rateLimited();
      second.rateLimited();
    },
  };
}

/**
 * Removes a `grpc-timeout` or `connect-timeout-ms` longer than Node's
 * largest timer (about 24.8 days): Connect would arm a timer that Node
 * clamps to 1 ms, failing the call with `deadline_exceeded` at once. Such
 * a deadline is as good as none.
 */
function dropOverlongTimeout(headers: http.IncomingHttpHeaders): void {
  const grpc = parseGrpcTimeoutMs(headers["grpc-timeout"]);
  if (typeof grpc === "number" && grpc > MAX_TIMER_MS) {
    delete headers["grpc-timeout"];
  }
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect) && Number(connect) > MAX_TIMER_MS) {
    delete headers["connect-timeout-ms"];
  }
}

/**
 * One session's open streams, by stream id, for shutdown's reaper and the
 * idle check. Keyed by id as Node keys its own: a Set of the stream objects
 * themselves made every scavenge under unary load keep about 0.9 MB more
 * young objects alive (and promote them) than the same bookkeeping by id
 * (`--trace-gc-nvp`, h2load 16 × 4).
 */
interface OpenStreams {
  readonly session: http2.ServerHttp2Session;
  readonly streams: Map<number, http2.ServerHttp2Stream>;
}

/** The {@link OpenStreams} a tracked stream is in, for the shared 'close' listener. */
const kOpen = Symbol("openStreams");
type Tracked = http2.ServerHttp2Stream & { [kOpen]?: OpenStreams };

/** 'close' listener of every tracked stream (one function, no closure per stream). */
function onTrackedClose(this: Tracked): void {
  const open = this[kOpen] as OpenStreams;
  open.streams.delete(this.id as number);
  destroyIfDone(open);
}

/**
 * A closed session can miss its own destroy when its last stream ended
 * while protocol data was still queued: finish it once no stream is open.
 */
function destroyIfDone(open: OpenStreams): void {
  const session = open.session;
  if (session.closed && !session.destroyed && open.streams.size === 0) {
    setImmediate(() => session.destroy());
  }
}

/** 'wantTrailers' listener of every stream (one function, no closure per stream): see createServer. */
function onWantTrailers(this: http2.ServerHttp2Stream): void {
  if (!this.readableEnded) {
    process.nextTick(queueCloseRequestSide, this);
  }
}

function queueCloseRequestSide(stream: http2.ServerHttp2Stream): void {
  setImmediate(closeRequestSide, stream);
}

/** Resets a stream whose response is complete but whose request side is still open. */
function closeRequestSide(stream: http2.ServerHttp2Stream): void {
  if (!stream.destroyed && !stream.closed && !stream.readableEnded) {
    stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }
}

/**
 * Builds the server: gRPC, gRPC-Web and Connect over HTTP/2, and Connect and
 * gRPC-Web over HTTP/1.1, all on one port (cleartext, or TLS with `tls`),
 * plus `grpc.health.v1.Health` and server reflection. Does not listen.
 */
export function createServer(options: ServerOptions): NetanomalyServer {
  const { models, health, closing, connect, broadcaster, observer } = createServerParts(options);
  const bodyLimits = createBodyLimits({
    maxConnectionBytes: options.maxConnectionBodyBytes ?? DEFAULT_MAX_CONNECTION_BODY_BYTES,
    maxProcessBytes: options.maxProcessBodyBytes ?? DEFAULT_MAX_PROCESS_BODY_BYTES,
    bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    logger: options.logger,
  });
  const fastPath =
    options.fastPath === false
      ? undefined
      : createGrpcFastPath({
          models,
          logger: options.logger,
          closing: closing.signal,
          observer,
          bodyLimits,
          ...(options.apiKeys === undefined ? {} : { apiKeys: options.apiKeys }),
          ...(options.rateLimiter === undefined ? {} : { rateLimiter: options.rateLimiter }),
          ...(options.maxMessageBytes === undefined
            ? {}
            : { maxMessageBytes: options.maxMessageBytes }),
          ...(options.metrics === undefined ? {} : { grpcMetrics: options.metrics.grpc }),
        });
  const adapter = connectNodeAdapter({
    ...connect,
    contextValues: (req) =>
      createContextValues().set(remoteAddressKey, req.socket.remoteAddress ?? ""),
  });
  const headerAuth = createHeaderAuth({
    keys: options.apiKeys ?? createApiKeys([]),
    all: options.authAll ?? false,
    logger: options.logger,
    ...(options.metrics === undefined ? {} : { grpcMetrics: options.metrics.grpc }),
  });
  const handler = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    if (req.httpVersion !== "2.0") {
      // HTTP/2 streams were checked and watched in 'stream' (below), before any handler.
      const r1 = req as http.IncomingMessage;
      if (headerAuth.checkRequest(r1, res as http.ServerResponse)) {
        return;
      }
      bodyLimits.watchRequest(r1, res as http.ServerResponse);
    }
    dropOverlongTimeout(req.headers);
    adapter(req as http.IncomingMessage, res as http.ServerResponse);
  };
  const settings: http2.Settings = {
    maxConcurrentStreams: options.maxStreams ?? DEFAULT_MAX_STREAMS,
  };
  // Sockets HTTP is spoken over (TLS sockets under TLS), and whether one carries HTTP/2.
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };
  let server: Server;
  let isHttp2: (socket: Socket) => boolean;
  let http1Requests: { on(event: "request", listener: http.RequestListener): unknown };
  let http2Sessions: http2.Http2Server | http2.Http2SecureServer;
  if (options.tls !== undefined) {
    const secure = createTlsListener(options.tls, settings, handler);
    secure.on("secureConnection", track);
    isHttp2 = (socket) => (socket as TLSSocket).alpnProtocol === "h2";
    server = secure;
    http1Requests = secure as unknown as typeof http1Requests;
    http2Sessions = secure;
  } else {
    const http2Server = http2.createServer({ settings }, handler);
    const headerTimeoutMs = options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
    const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
    const http1Server = http.createServer(
      {
        // Partial headers (and, with the body timeout, a whole request) are
        // cut off; Node checks every connectionsCheckingInterval.
        headersTimeout: headerTimeoutMs,
        requestTimeout: bodyTimeoutMs === 0 ? 0 : headerTimeoutMs + bodyTimeoutMs,
        connectionsCheckingInterval: Math.max(50, Math.min(1000, headerTimeoutMs / 4)),
      },
      handler,
    );
    server = createProtocolSniffer({ http2Server, http1Server });
    // Node checks header and request timeouts from a timer it starts when
    // the http.Server listens; this one never does (the sniffer listens).
    server.on("listening", () => http1Server.emit("listening"));
    server.on("close", () => http1Server.close(() => {}));
    server.on("connection", track);
    const h2Sockets = new WeakSet<Socket>();
    http2Server.on("connection", (socket: Socket) => h2Sockets.add(socket));
    isHttp2 = (socket) => h2Sockets.has(socket);
    http1Requests = http1Server;
    http2Sessions = http2Server;
  }
  // Every TCP connection, TLS or not: shutdown destroys these when forced.
  const rawSockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    rawSockets.add(socket);
    socket.on("close", () => rawSockets.delete(socket));
  });
  // Installed before the loopback check below, which therefore runs first.
  const connectionStats = limitConnections(server, {
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP,
    logger: options.logger,
  });
  if ((options.apiKeys?.size ?? 0) === 0 && options.insecure !== true) {
    // No keys: only this host may connect. Checked on the socket's peer
    // address, before any byte is read, whatever address we are bound to.
    server.prependListener("connection", (socket: Socket) => {
      if (!isLoopbackAddress(socket.remoteAddress)) {
        options.logger.warn(
          { remoteAddress: socket.remoteAddress },
          "refused a non-loopback connection: no API keys configured",
        );
        socket.destroy();
      }
    });
  }
  const sessions = new Set<http2.Http2Session>();
  // Each session's open streams, by stream id (see OpenStreams).
  const openStreams = new WeakMap<http2.Http2Session, OpenStreams>();
  const trackStream = (stream: http2.ServerHttp2Stream): void => {
    const open = stream.session === undefined ? undefined : openStreams.get(stream.session);
    if (open !== undefined) {
      open.streams.set(stream.id as number, stream);
      (stream as Tracked)[kOpen] = open;
      // Once the response's trailers have gone to nghttp2, a request side
      // still open is closed with RST_STREAM NO_ERROR (RFC 9113 §8.1): a
      // client answered early (an oversized message, a stream ended by an
      // error) stops uploading, and one that never half-closes (connect-
      // node's client after a response) does not hold a stream slot for the
      // life of the connection. Whoever answers calls sendTrailers in this
      // 'wantTrailers' emit (maybe after this listener), and Node submits
      // them from a setImmediate; ours is queued after theirs.
      stream.on("wantTrailers", onWantTrailers);
      // 'close' comes once per stream: `on` spares once()'s wrapper per call.
      stream.on("close", onTrackedClose);
    }
  };
  http2Sessions.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    const open: OpenStreams = { session, streams: new Map() };
    openStreams.set(session, open);
    session.setTimeout(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, () => {
      if (open.streams.size > 0) {
        return;
      }
      // First a graceful GOAWAY; a session still here one idle period later is stuck.
      if (session.closed) {
        session.destroy();
      } else {
        session.close();
      }
    });
    if (closing.signal.aborted) {
      session.close();
    }
  });
  // One handler in front of Node's own 'stream' listener (which makes the
  // compat request and response objects Connect reads): every stream is
  // tracked for shutdown; a call that needs a key it lacks is answered from
  // its headers (header-auth.ts); the fast path takes the plain gRPC calls
  // it serves, counting their bodies itself; every other stream's body is
  // counted and timed (body-limits.ts) and goes on to Connect.
  interceptStreams(http2Sessions, (stream, headers) => {
    trackStream(stream);
    if (headerAuth.checkStream(stream, headers)) {
      return true;
    }
    if (fastPath?.serve(stream, headers) === true) {
      return true;
    }
    bodyLimits.watchStream(stream, headers);
    return false;
  });
  // HTTP/1.1: count requests in flight per socket, so shutdown closes idle
  // keep-alive sockets at once and busy ones when their response is done.
  const busy = new Map<Socket, number>();
  http1Requests.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.httpVersion === "2.0") {
      return; // the TLS listener reports HTTP/2 requests here too
    }
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    if (closing.signal.aborted) {
      res.setHeader("Connection", "close");
    }
    res.on("close", () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) {
        busy.set(socket, left);
        return;
      }
      busy.delete(socket);
      if (closing.signal.aborted) {
        socket.destroySoon();
      }
    });
  });

  return {
    server,
    health,
    models,
    broadcaster,
    connect,
    closing: closing.signal,
    stats: { connections: connectionStats, bodies: bodyLimits.stats },
    guardHttp1(req, res) {
      if (headerAuth.checkRequest(req, res)) {
        return true;
      }
      bodyLimits.watchRequest(req, res);
      return false;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.removeListener("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async shutdown(deadlineMs = 10_000) {
      health.drain();
      closing.abort();
      health.closeWatches();
      const closed = new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
        }
        server.close(() => resolve());
      });
      for (const session of sessions) {
        session.close();
        const open = openStreams.get(session);
        if (open !== undefined) destroyIfDone(open);
      }
      for (const socket of sockets) {
        // Idle HTTP/1.1 keep-alive sockets, and sockets still being sniffed.
        if (!isHttp2(socket) && !busy.has(socket)) {
          socket.destroySoon();
        }
      }
      // A client can keep a stream's request side open after our response
      // (and trailers) ended: connect-node's client stops writing without
      // END_STREAM. Such a stream would hold the drain until the deadline;
      // closing it with NO_ERROR is allowed once the response is complete
      // (RFC 9113 section 8.1).
      const reaper = setInterval(() => {
        for (const session of sessions) {
          for (const stream of openStreams.get(session)?.streams.values() ?? []) {
            if (stream.writableFinished && !stream.readableEnded && !stream.closed) {
              stream.close(http2.constants.NGHTTP2_NO_ERROR);
            }
          }
        }
      }, 20);
      reaper.unref();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"forced">((resolve) => {
        timer = setTimeout(() => resolve("forced"), deadlineMs);
        timer.unref();
      });
      const outcome = await Promise.race([closed.then(() => "graceful" as const), deadline]);
      clearTimeout(timer);
      clearInterval(reaper);
      if (outcome === "forced") {
        for (const session of sessions) {
          session.destroy();
        }
        for (const socket of rawSockets) {
          socket.destroy();
        }
        await closed;
      }
      return outcome;
    },
  };
}
