import type * as http2 from "node:http2";

type StreamListener = (...args: unknown[]) => void;

/**
 * Puts `take` in front of the 'stream' listeners `server` has now (Node's
 * own, which turns a stream into compat request and response objects, and
 * any put in front before). A stream `take` answers (it returns true) goes no
 * further; every other goes to those listeners, in their order, with the
 * four arguments Node emits. They are named, not spread: this runs per call.
 */
export function interceptStreams(
  server: http2.Http2Server | http2.Http2SecureServer,
  take: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean,
): void {
  const inner = server.listeners("stream") as StreamListener[];
  server.removeAllListeners("stream");
  server.on(
    "stream",
    (
      stream: http2.ServerHttp2Stream,
      headers: http2.IncomingHttpHeaders,
      flags: number,
      rawHeaders: string[],
    ) => {
      if (take(stream, headers)) {
        return;
      }
      for (let i = 0; i < inner.length; i++) {
        (inner[i] as StreamListener).call(server, stream, headers, flags, rawHeaders);
      }
    },
  );
}
