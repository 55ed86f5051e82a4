import { AggregatorRegistry, type Registry } from "prom-client";
import type { Exposition } from "./metrics-server.js";

/**
 * In a `--workers` worker: answers the supervisor's metric requests with
 * `registry`'s metrics (prom-client's cluster protocol over the IPC channel).
 */
export function shareWithSupervisor(registry: Registry): void {
  // The constructor installs the worker's 'message' listener (once per process).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/**
 * In the supervisor: one scrape asks every worker for its metrics and sums
 * them (gauges flagged `max` take the largest), with prom-client's
 * `AggregatorRegistry.clusterMetrics()`; workers that are not connected are
 * left out, and a worker that does not answer within 5 s fails the scrape.
 */
export function createClusterCollector(): () => Promise<Exposition> {
  const aggregator = new AggregatorRegistry();
  return async () => ({
    contentType: aggregator.contentType,
    body: await aggregator.clusterMetrics(),
  });
}
