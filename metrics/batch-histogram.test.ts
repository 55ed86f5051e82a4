import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BatchHistogram } from "./batch-histogram.js";
import { scoreBuckets } from "./product-metrics.js";

describe("BatchHistogram", () => {
  it("renders the same text as prom-client's Histogram fed one value at a time", async () => {
    const bounds = [0.3, 0.5, 0.7, 1];
    const values = [0.1, 0.3, 0.31, 0.5, 0.69, 0.7, 0.99, 1, 0.55, 0.2];
    const mine = new Registry();
    const theirs = new Registry();
    const batch = new BatchHistogram("h", "help", bounds).register(mine);
    batch.observeBatch(values, 8);
    const h = new Histogram({ name: "h", help: "help", buckets: bounds, registers: [theirs] });
    for (const v of values.slice(0, 8)) h.observe(v);
    batch.observeBatch(values.slice(8));
    for (const v of values.slice(8)) h.observe(v);
    expect(await mine.metrics()).toBe(await theirs.metrics());
  });

  it("adds up across registries with cluster aggregation", async () => {
    const { AggregatorRegistry } = await import("prom-client");
    const a = new Registry();
    const b = new Registry();
    new BatchHistogram("h", "help", [0.5]).register(a).observeBatch([0.1, 0.9]);
    new BatchHistogram("h", "help", [0.5]).register(b).observeBatch([0.2]);
    const sum = AggregatorRegistry.aggregate([
      await a.getMetricsAsJSON(),
      await b.getMetricsAsJSON(),
    ]);
    const text = await sum.metrics();
    expect(text).toContain('h_bucket{le="0.5"} 2');
    expect(text).toContain('h_bucket{le="+Inf"} 3');
    expect(text).toContain("h_count 3");
  });
});

describe("scoreBuckets()", () => {
  it("lays bounds around the threshold, inside (0, 1], ending at 1", () => {
    expect(scoreBuckets(0.5)).toEqual([
      0.3, 0.4, 0.45, 0.48, 0.49, 0.5, 0.51, 0.52, 0.55, 0.6, 0.7, 1,
    ]);
    expect(scoreBuckets(0.9)).toEqual([0.7, 0.8, 0.85, 0.88, 0.89, 0.9, 0.91, 0.92, 0.95, 1]);
  });
});
