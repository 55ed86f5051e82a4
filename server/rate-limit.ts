/** Options for {@link createRateLimiter}; a rate of 0 turns that limit off. */
export interface RateLimitOptions {
  /** Requests per second per client (a stream message is a request). */
  requestsPerSecond: number;
  /** Events per second per client. */
  eventsPerSecond: number;
  /**
   * Most clients tracked at once; the least recently seen is forgotten
   * beyond this, so memory stays bounded. Default 10 000.
   */
  maxClients?: number;
  /** Monotonic clock in milliseconds; default `performance.now`. */
  now?: () => number;
}

/** The outcome of {@link RateLimiter.take}. */
export type RateDecision =
  | { ok: true }
  | { ok: false; limit: "requests" | "events"; retryAfterMs: number };

/** Per-client token buckets for requests and events. */
export interface RateLimiter {
  /** False when both rates are 0: `take` always allows. */
  readonly enabled: boolean;
  /**
   * Takes one request and `events` events from `client`'s buckets, or
   * nothing if either bucket is short (a refused request costs nothing).
   */
  take(client: string, events: number): RateDecision;
}

/** Smallest event bucket: a full batch of 1000 events must be able to pass. */
export const MIN_EVENT_BURST = 1000;

interface Buckets {
  requests: number;
  events: number;
  at: number;
}

/**
 * Creates token-bucket rate limits per client. Each bucket holds one second
 * of its rate (at least 1 request and {@link MIN_EVENT_BURST} events), starts
 * full, and refills continuously.
 */
export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const rps = options.requestsPerSecond;
  const eps = options.eventsPerSecond;
  const maxClients = options.maxClients ?? 10_000;
  const now = options.now ?? (() => performance.now());
  const requestBurst = Math.max(1, rps);
  const eventBurst = Math.max(MIN_EVENT_BURST, eps);
  const clients = new Map<string, Buckets>();
  return {
    enabled: rps > 0 || eps > 0,
    take(client, events) {
      if (rps <= 0 && eps <= 0) {
        return { ok: true };
      }
      const t = now();
      let b = clients.get(client);
      if (b === undefined) {
        b = { requests: requestBurst, events: eventBurst, at: t };
      } else {
        // Re-insert so the Map's order is least recently seen first.
        clients.delete(client);
        const dt = Math.max(0, t - b.at) / 1000;
        b.requests = Math.min(requestBurst, b.requests + dt * rps);
        b.events = Math.min(eventBurst, b.events + dt * eps);
        b.at = t;
      }
      clients.set(client, b);
      if (clients.size > maxClients) {
        const oldest = clients.keys().next().value as string;
        clients.delete(oldest);
      }
      if (rps > 0 && b.requests < 1) {
        return { ok: false, limit: "requests", retryAfterMs: ((1 - b.requests) / rps) * 1000 };
      }
      if (eps > 0 && b.events < events) {
        const short = Math.min(events, eventBurst) - b.events;
        return { ok: false, limit: "events", retryAfterMs: (Math.max(short, 0) / eps) * 1000 };
      }
      if (rps > 0) {
        b.requests -= 1;
      }
      if (eps > 0) {
        b.events -= events;
      }
      return { ok: true };
    },
  };
}
