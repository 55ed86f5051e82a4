import type * as http from "node:http";
import type * as http2 from "node:http2";
import * as net from "node:net";

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
export const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Options for {@link createProtocolSniffer}. */
export interface ProtocolSnifferOptions {
  /** Receives connections that start with the HTTP/2 preface (h2c, prior knowledge). */
  http2Server: http2.Http2Server;
  /** Receives every other connection (HTTP/1.1). */
  http1Server: http.Server;
  /**
   * Connections that send nothing for this long are destroyed before a
   * protocol is chosen, in milliseconds. Default 10 000; 0 disables.
   */
  prefaceTimeoutMs?: number;
}

/**
 * Decides from the first bytes whether the client speaks HTTP/2 with prior
 * knowledge or HTTP/1.x.
 *
 * @returns `"h2"` once `head` holds the whole preface, `"http/1.1"` as soon as
 *   one byte differs from it, `undefined` while `head` is a strict prefix of it.
 */
export function sniffProtocol(head: Buffer): "h2" | "http/1.1" | undefined {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  if (head.subarray(0, n).compare(HTTP2_PREFACE, 0, n) !== 0) {
    return "http/1.1";
  }
  return n === HTTP2_PREFACE.length ? "h2" : undefined;
}

/**
 * Creates a `net.Server` that serves cleartext HTTP/2 and HTTP/1.1 on one
 * port. `http2.createServer({ allowHTTP1 })` negotiates with ALPN, so it only
 * works with TLS; here we peek at the first bytes of each connection instead,
 * push them back with `unshift`, and hand the socket to the matching server
 * with `emit("connection")`. The returned server is not listening.
 *
 * @privateRemarks An `Http2Session` reads whatever sits in the socket's buffer
 * before consuming its handle (nodejs/node#34532, #35475), so the unshifted
 * preface reaches nghttp2; `http.Server` reads it through the stream as usual.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9113#section-3.4 (HTTP/2 with prior knowledge)
 */
export function createProtocolSniffer(options: ProtocolSnifferOptions): net.Server {
  const { http2Server, http1Server } = options;
  const prefaceTimeoutMs = options.prefaceTimeoutMs ?? 10_000;
  return net.createServer((socket) => {
    let head: Buffer = Buffer.alloc(0);
    const onTimeout = () => socket.destroy();
    const onEnd = () => socket.destroy();
    const onReadable = () => {
      let chunk: Buffer | null;
      let protocol: "h2" | "http/1.1" | undefined;
      // biome-ignore lint/suspicious/noAssignInExpressions: read loop
      while (protocol === undefined && (chunk = socket.read() as Buffer | null) !== null) {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        protocol = sniffProtocol(head);
      }
      if (protocol === undefined) {
        return;
      }
      socket.removeListener("readable", onReadable);
      socket.removeListener("end", onEnd);
      socket.removeListener("timeout", onTimeout);
      socket.setTimeout(0);
      socket.unshift(head);
      const target = protocol === "h2" ? http2Server : http1Server;
      target.emit("connection", socket);
    };
    if (prefaceTimeoutMs > 0) {
      socket.setTimeout(prefaceTimeoutMs);
      socket.on("timeout", onTimeout);
    }
    socket.on("error", () => socket.destroy());
    socket.on("end", onEnd);
    socket.on("readable", onReadable);
  });
}
