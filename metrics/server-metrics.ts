import type { Interceptor } from "@connectrpc/connect";
import { collectDefaultMetrics, Registry } from "prom-client";
import { createGrpcInterceptorFor } from "./grpc-interceptor.js";
import { createGrpcMetrics, type GrpcMetrics } from "./grpc-metrics.js";
import type { Exposition } from "./metrics-server.js";
import {
  createProductMetrics,
  type ProductMetrics,
  type ProductMetricsOptions,
} from "./product-metrics.js";

/** Everything one server process counts, in one registry. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** gRPC server metrics; the fast path calls `start` itself. */
  readonly grpc: GrpcMetrics;
  /** The Connect interceptor counting the same metrics; put it first. */
  readonly interceptor: Interceptor;
  readonly product: ProductMetrics;
  /** This process's metrics in Prometheus' text format. */
  collect(): Promise<Exposition>;
}

/** Options for {@link createServerMetrics}. */
export interface ServerMetricsOptions extends ProductMetricsOptions {
  /** Also export prom-client's `process_*` and `nodejs_*` metrics; default true. */
  processMetrics?: boolean;
}

/**
 * Creates a fresh registry holding the gRPC server metrics
 * (`grpc-metrics.ts`), the product metrics (`product-metrics.ts`) and, unless
 * turned off, prom-client's process metrics (CPU, memory, event-loop lag).
 */
export function createServerMetrics(options: ServerMetricsOptions): ServerMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) {
    collectDefaultMetrics({ register: registry });
  }
  const grpc = createGrpcMetrics(registry);
  const product = createProductMetrics(registry, options);
  return {
    registry,
    grpc,
    interceptor: createGrpcInterceptorFor(grpc),
    product,
    async collect() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
