import { createClient, type Transport } from "@connectrpc/connect";
import type { StreamScoreRequest } from "../gen/netanomaly/v1/scoring_service_pb.js";
import { Outbox } from "./outbox.js";
import { ScoringServiceView, type StreamScoreResponseView } from "./stream-score-view.js";

/** What one `StreamScore` call tells the stream client. */
export interface ScoreStreamHandlers {
  /** Each response, in order. A throw fails the call with what was thrown. */
  onResponse(response: StreamScoreResponseView): void;
  /** Each request as it leaves for the server (not before the connection is up). */
  onTake(request: StreamScoreRequest): void;
}

/** One `ScoringService/StreamScore` call. */
export interface ScoreStreamCall {
  /** Sends a request after those sent before; ignored once the call has ended. */
  send(request: StreamScoreRequest): void;
  /** Half-closes the call after the requests sent so far. */
  end(): void;
  /**
   * Settles when the call ends: resolves when the server ends it with `ok`,
   * rejects with a `ConnectError` carrying the server's status and message
   * (or the network's failure), or at once with the signal's reason when it aborts.
   */
  readonly done: Promise<void>;
}

/** Where the stream client opens its calls, one after another. */
export interface ScoreChannel {
  /** Opens a call; `signal` aborts it (the server sees a cancel). */
  open(handlers: ScoreStreamHandlers, signal: AbortSignal): ScoreStreamCall;
  /** Lets go of the connection (calls still open fail). */
  close(): void;
}

/**
 * A channel over a Connect `Transport`, for callers that bring their own
 * (tests that intercept calls, with Connect interceptors). The agent itself
 * uses `createGrpcChannel`, which costs less CPU per message.
 */
export function connectScoreChannel(transport: Transport): ScoreChannel {
  const client = createClient(ScoringServiceView, transport);
  return {
    open(handlers, signal) {
      const outbox = new Outbox<StreamScoreRequest>((r) => handlers.onTake(r));
      const done = (async () => {
        try {
          for await (const res of abortable(client.streamScore(outbox, { signal }), signal)) {
            handlers.onResponse(res);
          }
        } finally {
          outbox.close();
        }
      })();
      done.catch(() => {});
      return {
        send: (request) => outbox.push(request),
        end: () => outbox.close(),
        done,
      };
    },
    close() {},
  };
}

/**
 * Iterates `source` until `signal` aborts, then throws its reason at once,
 * whether or not the source noticed (a transport waiting on a silent peer
 * may not); the source is told to stop without waiting for it.
 */
async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (signal.aborted) void it.return?.()?.catch?.(() => {});
  }
}
