import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  AlertVerdict,
  type GetModelInfoResponse,
  ScoringService,
  type WatchAnomaliesResponse,
} from "../../gen/netanomaly/v1/scoring_service_pb.js";

/** sessionStorage key of the API key: kept for the tab, never on disk. */
const KEY_STORAGE = "netanomaly.apiKey";

/** The API key entered in this tab, or "". */
export function storedKey(): string {
  return sessionStorage.getItem(KEY_STORAGE) ?? "";
}

/** Keeps (or, with "", forgets) the API key for this tab. */
export function storeKey(key: string): void {
  if (key === "") sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

/** The generated Connect-Web client, on the page's own origin, with the tab's key. */
const client = createClient(
  ScoringService,
  createConnectTransport({
    baseUrl: location.origin,
    interceptors: [
      (next) => (req) => {
        const key = storedKey();
        if (key !== "") req.header.set("authorization", `Bearer ${key}`);
        return next(req);
      },
    ],
  }),
);

/** Where the watch stands, for the status line. */
export type WatchStatus =
  | { state: "connecting" }
  | { state: "live" }
  | { state: "reconnecting"; message: string; retryMs: number }
  | { state: "needs-key"; message: string };

/** Callbacks of {@link watch}. */
export interface WatchHandlers {
  onResponse(res: WatchAnomaliesResponse): void;
  onModelInfo(info: GetModelInfoResponse): void;
  onStatus(status: WatchStatus): void;
}

/**
 * Watches anomalies until `signal` aborts, reconnecting with backoff
 * (0.5 s doubling to 5 s) whenever the stream ends or fails, for example
 * while the server restarts. Stops at `unauthenticated` or
 * `permission_denied` and asks for a key.
 */
export async function watch(handlers: WatchHandlers, signal: AbortSignal): Promise<void> {
  let retryMs = 500;
  while (!signal.aborted) {
    let message = "the server ended the stream";
    try {
      handlers.onStatus({ state: "connecting" });
      handlers.onModelInfo(await client.getModelInfo({}, { signal }));
      for await (const res of client.watchAnomalies({ backlog: 200 }, { signal })) {
        if (retryMs !== 0) handlers.onStatus({ state: "live" });
        retryMs = 0;
        handlers.onResponse(res);
      }
    } catch (e) {
      if (signal.aborted) return;
      const err = ConnectError.from(e);
      if (err.code === Code.Unauthenticated || err.code === Code.PermissionDenied) {
        handlers.onStatus({ state: "needs-key", message: err.rawMessage });
        return;
      }
      message = err.rawMessage;
    }
    retryMs = Math.min(Math.max(retryMs * 2, 500), 5000);
    handlers.onStatus({ state: "reconnecting", message, retryMs });
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

/**
 * Marks an alert benign with `Feedback`, asking the server to suppress its
 * pattern; resolves with a line for people, success or not.
 */
export async function markBenign(alertId: string): Promise<string> {
  try {
    const res = await client.feedback({
      alertId,
      verdict: AlertVerdict.BENIGN,
      suppress: true,
      reason: "marked benign on the dashboard",
    });
    return res.suppressionId === "" ? "recorded as benign" : `suppressed (${res.suppressionId})`;
  } catch (e) {
    const err = ConnectError.from(e);
    return err.code === Code.FailedPrecondition
      ? "not recorded: the server has no alert outputs"
      : `not recorded: ${err.rawMessage}`;
  }
}
