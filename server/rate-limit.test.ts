import { describe, expect, it } from "vitest";
import { createRateLimiter } from "./rate-limit.js";

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("createRateLimiter()", () => {
  it("allows everything when both rates are 0", () => {
    const limiter = createRateLimiter({ requestsPerSecond: 0, eventsPerSecond: 0 });
    expect(limiter.enabled).toBe(false);
    expect(limiter.take("a", 1e9)).toEqual({ ok: true });
  });

  it("allows a burst of one second of requests, then refills at the rate", () => {
    const c = clock();
    const limiter = createRateLimiter({ requestsPerSecond: 2, eventsPerSecond: 0, now: c.now });
    expect(limiter.take("a", 1).ok).toBe(true);
    expect(limiter.take("a", 1).ok).toBe(true);
    expect(limiter.take("a", 1)).toEqual({ ok: false, limit: "requests", retryAfterMs: 500 });
    c.advance(500);
    expect(limiter.take("a", 1).ok).toBe(true);
    expect(limiter.take("a", 1).ok).toBe(false);
  });

  it("keeps one bucket per client", () => {
    const c = clock();
    const limiter = createRateLimiter({ requestsPerSecond: 1, eventsPerSecond: 0, now: c.now });
    expect(limiter.take("key:1", 1).ok).toBe(true);
    expect(limiter.take("key:1", 1).ok).toBe(false);
    expect(limiter.take("key:2", 1).ok).toBe(true);
  });

  it("limits events, letting a full 1000-event batch through even at a low rate", () => {
    const c = clock();
    const limiter = createRateLimiter({ requestsPerSecond: 0, eventsPerSecond: 10, now: c.now });
    expect(limiter.take("a", 1000).ok).toBe(true);
    const refused = limiter.take("a", 5);
    expect(refused).toEqual({ ok: false, limit: "events", retryAfterMs: 500 });
    c.advance(500);
    expect(limiter.take("a", 5).ok).toBe(true);
  });

  it("charges nothing for a refused request", () => {
    const c = clock();
    const limiter = createRateLimiter({ requestsPerSecond: 10, eventsPerSecond: 10, now: c.now });
    expect(limiter.take("a", 1000).ok).toBe(true);
    for (let i = 0; i < 5; i++) {
      expect(limiter.take("a", 1).ok).toBe(false);
    }
    c.advance(100);
    expect(limiter.take("a", 1).ok).toBe(true);
  });

  it("forgets the least recently seen client beyond maxClients", () => {
    const c = clock();
    const limiter = createRateLimiter({
      requestsPerSecond: 1,
      eventsPerSecond: 0,
      maxClients: 2,
      now: c.now,
    });
    limiter.take("a", 1);
    limiter.take("b", 1);
    limiter.take("c", 1); // evicts "a"
    expect(limiter.take("a", 1).ok).toBe(true);
    expect(limiter.take("c", 1).ok).toBe(false);
  });
});
