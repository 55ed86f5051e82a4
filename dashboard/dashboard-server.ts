import { readFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import {
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
  createContextValues,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { BUNDLE_FILES } from "./bundle.js";

/** Options for {@link createDashboardServer}. */
export interface DashboardServerOptions {
  /** Folder of the built bundle (`index.html`, `app.js`, `app.css`). */
  bundleDir: string;
  /** The scoring server's routes, interceptors and limits: the page calls them on this origin. */
  connect: ConnectRouterOptions & { routes: (router: ConnectRouter) => void };
  /** Context values of each call from the request (the peer address, for auth). */
  contextValues?: (req: http.IncomingMessage) => ContextValues;
  /**
   * Checks each request before Connect reads it (the scoring server's
   * header auth and body bounds); returns true when it answered it.
   */
  guard?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** Peers allowed to connect, by address; default any. Others are closed before a byte is read. */
  allow?: (remoteAddress: string | undefined) => boolean;
}

/** The dashboard's own HTTP/1.1 listener. */
export interface DashboardServer {
  readonly server: http.Server;
  /** Listens on `host:port` (port 0 picks a free one) and resolves with the address. */
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, closes idle connections, and destroys the rest after `deadlineMs`. */
  close(deadlineMs?: number): Promise<void>;
}

const TYPES: Record<(typeof BUNDLE_FILES)[number], string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/** Same-origin only: the page loads nothing from elsewhere and talks only to this server. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/**
 * Builds the dashboard listener: `GET /` serves the page and `/app.js`,
 * `/app.css` its bundle (read once, at build); every other path goes to
 * the scoring server's Connect routes, so the page calls `WatchAnomalies`
 * and `GetModelInfo` on its own origin, with the same auth as any client.
 * Does not listen.
 */
export function createDashboardServer(options: DashboardServerOptions): DashboardServer {
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of BUNDLE_FILES) {
    files.set(`/${name}`, {
      type: TYPES[name],
      body: readFileSync(join(options.bundleDir, name)),
    });
  }
  files.set("/", files.get("/index.html") as { type: string; body: Buffer });
  const serveStatic = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] as string;
    const file = files.get(path);
    if (file === undefined || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS });
      res.end("not found\n");
      return;
    }
    res.writeHead(200, {
      "content-type": file.type,
      "content-length": file.body.length,
      ...SECURITY_HEADERS,
    });
    res.end(req.method === "HEAD" ? undefined : file.body);
  };
  const adapter = connectNodeAdapter({
    ...options.connect,
    // This listener speaks HTTP/1.1 only, so requests are IncomingMessages.
    fallback: (req, res) => serveStatic(req as http.IncomingMessage, res as http.ServerResponse),
    contextValues: (req) =>
      options.contextValues?.(req as http.IncomingMessage) ?? createContextValues(),
  });
  const guard = options.guard;
  const server = http.createServer((req, res) => {
    if (guard?.(req, res) === true) {
      return;
    }
    adapter(req, res);
  });
  const allow = options.allow;
  if (allow !== undefined) {
    server.prependListener("connection", (socket: Socket) => {
      if (!allow(socket.remoteAddress)) {
        socket.destroy();
      }
    });
  }
  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.removeListener("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close(deadlineMs = 2000) {
      return new Promise((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
