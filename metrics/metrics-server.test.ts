import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { type MetricsServer, parseMetricsAddress, serveMetrics } from "./metrics-server.js";

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("parseMetricsAddress()", () => {
  it("reads HOST:PORT, [IPV6]:PORT and a bare PORT on loopback", () => {
    expect(parseMetricsAddress("0.0.0.0:9464")).toEqual({ host: "0.0.0.0", port: 9464 });
    expect(parseMetricsAddress("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(parseMetricsAddress("9464")).toEqual({ host: "127.0.0.1", port: 9464 });
  });

  it("names a bad value", () => {
    expect(() => parseMetricsAddress("host:99999")).toThrow(/--metrics .*"host:99999"/);
    expect(() => parseMetricsAddress("::1:9464")).toThrow(/--metrics/);
  });
});

describe("serveMetrics()", () => {
  it("serves the registry at /metrics and nothing else", async () => {
    const registry = new Registry();
    new Counter({ name: "x_total", help: "x", registers: [registry] }).inc(3);
    server = await serveMetrics({
      host: "127.0.0.1",
      port: 0,
      collect: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    });
    const base = `http://127.0.0.1:${server.address.port}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain("x_total 3");
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("answers 500 when collecting fails, and reports it", async () => {
    const errors: unknown[] = [];
    server = await serveMetrics({
      host: "127.0.0.1",
      port: 0,
      collect: () => Promise.reject(new Error("worker timed out")),
      onError: (e) => errors.push(e),
    });
    expect((await fetch(`http://127.0.0.1:${server.address.port}/metrics`)).status).toBe(500);
    expect(errors).toHaveLength(1);
  });
});
