/**
 * The metrics room: Prometheus metrics of the scoring server (gRPC server
 * metrics with go-grpc-prometheus' names, and the service's own), the
 * `/metrics` endpoint, and the sum over `--workers`. Imports prom-client and
 * Connect's types, never `server/`.
 */
export { BatchHistogram } from "./batch-histogram.js";
export { createClusterCollector, shareWithSupervisor } from "./cluster.js";
export { createGrpcInterceptorFor } from "./grpc-interceptor.js";
export type { GrpcCall, GrpcMetrics, GrpcType } from "./grpc-metrics.js";
export { createGrpcMetrics, grpcCodeLabel, HANDLING_BUCKETS } from "./grpc-metrics.js";
export type {
  Exposition,
  MetricsAddress,
  MetricsServer,
  MetricsServerOptions,
} from "./metrics-server.js";
export { parseMetricsAddress, serveMetrics } from "./metrics-server.js";
export type { AlertOutcome, ProductMetrics, ProductMetricsOptions } from "./product-metrics.js";
export { createProductMetrics, scoreBuckets } from "./product-metrics.js";
export type { ServerMetrics, ServerMetricsOptions } from "./server-metrics.js";
export { createServerMetrics } from "./server-metrics.js";
