import { Code } from "@connectrpc/connect";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** `grpc_type` as go-grpc-prometheus spells it. */
export type GrpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

const TYPES: Record<string, GrpcType> = {
  unary: "unary",
  server_streaming: "server_stream",
  client_streaming: "client_stream",
  bidi_streaming: "bidi_stream",
};

/** `grpc_type` of a method from its protobuf-es `methodKind`. */
export function grpcTypeOf(methodKind: string): GrpcType {
  return TYPES[methodKind] ?? "unary";
}

/** One call being counted; every method may be called from any path, once `end` has not run. */
export interface GrpcCall {
  /** One request message read. */
  received(): void;
  /** One response message written. */
  sent(): void;
  /** The call ended: `undefined` for OK, else its code. Later calls are ignored. */
  end(code: Code | undefined): void;
}

/** The standard gRPC server metrics, fed by the Connect interceptor and the fast path alike. */
export interface GrpcMetrics {
  /** Counts a call as started (`grpc_server_started_total`) and returns its counter. */
  start(service: string, method: string, type: GrpcType): GrpcCall;
}

/**
 * `grpc_server_handling_seconds` buckets: Prometheus' client default
 * (`DefBuckets`), as go-grpc-prometheus uses, with 1, 2.5 ms in front: a
 * unary Score here takes well under 5 ms.
 */
export const HANDLING_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const LABELS = ["grpc_type", "grpc_service", "grpc_method"] as const;

/**
 * `Code.InvalidArgument` → `"InvalidArgument"`, `undefined` → `"OK"`: the
 * `grpc_code` values of go-grpc-prometheus (Go's `codes.Code.String()`).
 */
export function grpcCodeLabel(code: Code | undefined): string {
  return code === undefined ? "OK" : (Code[code] ?? "Unknown");
}

/**
 * Creates the gRPC server metrics in `registry`, with the names and labels of
 * go-grpc-prometheus (`grpc_server_started_total`, `grpc_server_handled_total`,
 * `grpc_server_handling_seconds`, `grpc_server_msg_received_total`,
 * `grpc_server_msg_sent_total`; labels `grpc_type`, `grpc_service`,
 * `grpc_method`, and `grpc_code` on handled), plus `netanomaly_streams_open`,
 * the streaming calls in progress. Label values are method names the server
 * routes (a fixed set) and gRPC code names.
 *
 * @see https://github.com/grpc-ecosystem/go-grpc-prometheus
 */
export function createGrpcMetrics(registry: Registry): GrpcMetrics {
  const registers = [registry];
  const started = new Counter({
    name: "grpc_server_started_total",
    help: "Total number of RPCs started on the server.",
    labelNames: LABELS,
    registers,
  });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "Total number of RPCs completed on the server, regardless of success or failure.",
    labelNames: [...LABELS, "grpc_code"],
    registers,
  });
  const seconds = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
    labelNames: LABELS,
    buckets: HANDLING_BUCKETS,
    registers,
  });
  const received = new Counter({
    name: "grpc_server_msg_received_total",
    help: "Total number of RPC stream messages received on the server.",
    labelNames: LABELS,
    registers,
  });
  const sent = new Counter({
    name: "grpc_server_msg_sent_total",
    help: "Total number of gRPC stream messages sent by the server.",
    labelNames: LABELS,
    registers,
  });
  const streams = new Gauge({
    name: "netanomaly_streams_open",
    help: "Streaming RPCs (StreamScore) in progress.",
    registers,
  });

  interface Children {
    labels: Record<(typeof LABELS)[number], string>;
    started: Counter.Internal;
    received: Counter.Internal;
    sent: Counter.Internal;
    seconds: Histogram.Internal<string>;
    handled: Map<Code | undefined, Counter.Internal>;
  }
  // One set of labelled children per method: no label hashing per message.
  const children = new Map<string, Children>();
  const childrenOf = (service: string, method: string, type: GrpcType): Children => {
    const key = `${type} ${service}/${method}`;
    let c = children.get(key);
    if (c === undefined) {
      const labels = { grpc_type: type, grpc_service: service, grpc_method: method };
      c = {
        labels,
        started: started.labels(labels),
        received: received.labels(labels),
        sent: sent.labels(labels),
        seconds: seconds.labels(labels),
        handled: new Map(),
      };
      children.set(key, c);
    }
    return c;
  };

  return {
    start(service, method, type) {
      const c = childrenOf(service, method, type);
      const streaming = type !== "unary";
      c.started.inc();
      if (streaming) {
        streams.inc();
      }
      const begin = performance.now();
      let done = false;
      return {
        received: () => c.received.inc(),
        sent: () => c.sent.inc(),
        end(code) {
          if (done) {
            return;
          }
          done = true;
          if (streaming) {
            streams.dec();
          }
          let h = c.handled.get(code);
          if (h === undefined) {
            h = handled.labels({ ...c.labels, grpc_code: grpcCodeLabel(code) });
            c.handled.set(code, h);
          }
          h.inc();
          c.seconds.observe((performance.now() - begin) / 1000);
        },
      };
    },
  };
}
