import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Server, Socket } from "node:net";
import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import type { Detector } from "../detector/detector.js";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createHealthService, type HealthService } from "./health.js";
import { createLoggingInterceptor } from "./logging.js";
import { createModelHolder, type ModelHolder } from "./model-holder.js";
import { createProtocolSniffer } from "./protocol-sniffer.js";
import { createRoutes } from "./routes.js";

/** Largest request message we read, in bytes: 1000 events with every string at its cap fit. */
export const READ_MAX_BYTES = 16 * 1024 * 1024;

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
}

/** A server built by {@link createServer}; nothing listens until `listen`. */
export interface NetanomalyServer {
  /** The cleartext listener (HTTP/2 prior knowledge and HTTP/1.1 on one port). */
  readonly server: Server;
  readonly health: HealthService;
  readonly models: ModelHolder;
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
}

/** The transport-independent parts of a server, shared by every listener flavour. */
export interface ServerParts {
  readonly models: ModelHolder;
  readonly health: HealthService;
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
  const routes = createRoutes({ models, logger: options.logger, health, closing: closing.signal });
  return {
    models,
    health,
    closing,
    connect: {
      routes,
      interceptors: [createLoggingInterceptor(options.logger)],
      readMaxBytes: READ_MAX_BYTES,
    },
  };
}

/**
 * Builds the server: gRPC, gRPC-Web and Connect over cleartext HTTP/2 (prior
 * knowledge), and Connect and gRPC-Web over HTTP/1.1, all on one port, plus
 * `grpc.health.v1.Health` and server reflection. Does not listen.
 */
export function createServer(options: ServerOptions): NetanomalyServer {
  const { models, health, closing, connect } = createServerParts(options);
  const handler = connectNodeAdapter(connect);
  const http2Server = http2.createServer(handler);
  const http1Server = http.createServer(handler);
  const server = createProtocolSniffer({ http2Server, http1Server });

  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const h2Sockets = new Set<Socket>();
  http2Server.on("connection", (socket: Socket) => h2Sockets.add(socket));
  const sessions = new Set<http2.Http2Session>();
  http2Server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    if (closing.signal.aborted) {
      session.close();
    }
  });
  // HTTP/1.1: count requests in flight per socket, so shutdown closes idle
  // keep-alive sockets at once and busy ones when their response is done.
  const busy = new Map<Socket, number>();
  http1Server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
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
      }
      for (const socket of sockets) {
        // Idle HTTP/1.1 keep-alive sockets, and sockets still being sniffed.
        if (!h2Sockets.has(socket) && !busy.has(socket)) {
          socket.destroySoon();
        }
      }
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"forced">((resolve) => {
        timer = setTimeout(() => resolve("forced"), deadlineMs);
        timer.unref();
      });
      const outcome = await Promise.race([closed.then(() => "graceful" as const), deadline]);
      clearTimeout(timer);
      if (outcome === "forced") {
        for (const session of sessions) {
          session.destroy();
        }
        for (const socket of sockets) {
          socket.destroy();
        }
        await closed;
      }
      return outcome;
    },
  };
}
