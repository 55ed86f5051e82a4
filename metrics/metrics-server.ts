import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** The text a scrape returns. */
export interface Exposition {
  contentType: string;
  body: string;
}

/** Options for {@link serveMetrics}. */
export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Renders the metrics for one scrape (one registry, or every worker's summed). */
  collect(): Promise<Exposition>;
  /** Told about a scrape that failed (it is answered 500). */
  onError?(error: unknown): void;
}

/** A listening metrics endpoint. */
export interface MetricsServer {
  readonly address: AddressInfo;
  /** Stops listening and closes idle connections. */
  close(): Promise<void>;
}

/**
 * Serves Prometheus' text format at `GET /metrics` on its own HTTP/1.1
 * listener, apart from the scoring port (whose auth stays as it is): `404`
 * for other paths, `405` for other methods, `500` if collecting failed.
 */
export function serveMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end();
      return;
    }
    options.collect().then(
      (e) => {
        res.writeHead(200, { "content-type": e.contentType });
        res.end(req.method === "HEAD" ? undefined : e.body);
      },
      (error: unknown) => {
        options.onError?.(error);
        res.writeHead(500, { "content-type": "text/plain" }).end("collecting metrics failed\n");
      },
    );
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.removeListener("error", reject);
      resolve({
        address: server.address() as AddressInfo,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/** A `--metrics` address. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/**
 * Parses `--metrics`: `HOST:PORT`, `[IPv6]:PORT`, or a bare `PORT` (on
 * 127.0.0.1).
 *
 * @throws RangeError naming the value when it is none of these.
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (m === null || port > 65535) {
    throw new RangeError(
      `--metrics must be HOST:PORT, [IPV6]:PORT or PORT (port 0 to 65535), got ${JSON.stringify(text)}`,
    );
  }
  return { host: m[1] ?? m[2] ?? "127.0.0.1", port };
}
