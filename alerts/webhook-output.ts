import { createHmac } from "node:crypto";
import type { Alert } from "./alert.js";
import { createDeliveryQueue, type DeliveryQueueOptions } from "./delivery-queue.js";
import type { AlertOutput } from "./output.js";

/** Header carrying `sha256=<hex HMAC-SHA256 of the body>` when a secret is set. */
export const SIGNATURE_HEADER = "x-netanomaly-signature";

/** Options for {@link createWebhookOutput}. */
export interface WebhookOutputOptions
  extends Pick<
    DeliveryQueueOptions,
    "report" | "onError" | "maxQueue" | "baseDelayMs" | "maxDelayMs"
  > {
  url: string;
  /** Shared secret: each POST carries {@link SIGNATURE_HEADER}. */
  secret?: string;
  /** Per-request timeout, ms; default 10 000. */
  timeoutMs?: number;
}

/** `sha256=` + hex HMAC-SHA256 of `body` with `secret`, the value of {@link SIGNATURE_HEADER}. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * POSTs each alert as one JSON object (`content-type: application/json`,
 * `x-netanomaly-alert-id`, and with a secret the HMAC signature header). A
 * 2xx answer delivers it; anything else, a network error or a timeout is
 * retried with backoff (delivery-queue.ts: bounded, in order, at-least-once).
 */
export function createWebhookOutput(options: WebhookOutputOptions): AlertOutput {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const queue = createDeliveryQueue({
    ...options,
    async deliver(alert: Alert) {
      const body = JSON.stringify(alert);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-netanomaly-alert-id": alert.alertId,
      };
      if (options.secret !== undefined) {
        headers[SIGNATURE_HEADER] = signBody(options.secret, body);
      }
      const res = await fetch(options.url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Read the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) {
        throw new Error(`webhook answered ${res.status}`);
      }
    },
  });
  return {
    name: "webhook",
    send: (alert) => queue.push(alert),
    close: (deadlineMs) => queue.close(deadlineMs),
  };
}
