import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";

/** Options for {@link createHealthService}. */
export interface HealthServiceOptions {
  /**
   * Services to report on, by full name; `""` stands for the whole server.
   * Each starts as `NOT_SERVING` until {@link HealthService.setStatus} says otherwise.
   */
  services: readonly string[];
}

/** `grpc.health.v1.Health` with the setters the server drives it by. */
export interface HealthService {
  /** The RPC implementation, for `router.service(Health, impl)`. */
  readonly impl: ServiceImpl<typeof Health>;
  /**
   * Sets a service's status and notifies its watchers. Ignored after
   * {@link drain}, so a model swapped in during shutdown cannot flip the
   * server back to `SERVING`.
   */
  setStatus(service: string, status: ServingStatus.SERVING | ServingStatus.NOT_SERVING): void;
  /** The status `Check` would report, or `undefined` for an unknown service. */
  getStatus(service: string): ServingStatus | undefined;
  /** Marks every service `NOT_SERVING` for good: the server is shutting down. */
  drain(): void;
  /** Ends every open `Watch` stream (with OK), so connections can close. */
  closeWatches(): void;
}

/**
 * Creates the gRPC health service, following the semantics in the comments of
 * `proto/grpc/health/v1/health.proto` and grpc-node's `grpc-health-check`:
 * `Check` on an unknown service fails with `not_found`; `Watch` sends the
 * current status at once (`SERVICE_UNKNOWN` for an unknown service, without
 * ending the call), then every change, until the client cancels.
 *
 * @see https://github.com/grpc/grpc/blob/master/doc/health-checking.md
 */
export function createHealthService(options: HealthServiceOptions): HealthService {
  const statuses = new Map<string, ServingStatus>();
  for (const service of options.services) {
    statuses.set(service, ServingStatus.NOT_SERVING);
  }
  const wakers = new Set<() => void>();
  let draining = false;
  let closed = false;
  const wakeAll = () => {
    for (const wake of [...wakers]) {
      wake();
    }
  };
  const statusOf = (service: string) => statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
  return {
    impl: {
      check(req) {
        const status = statuses.get(req.service);
        if (status === undefined) {
          throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
        }
        return create(HealthCheckResponseSchema, { status });
      },
      async *watch(req, ctx) {
        let sent = statusOf(req.service);
        yield create(HealthCheckResponseSchema, { status: sent });
        for (;;) {
          // Compare before waiting: the status may have changed while the
          // consumer had not yet pulled the previous message. Compare before
          // ending too: shutdown drains and closes watches in one go, and
          // watchers must still see NOT_SERVING.
          const now = statusOf(req.service);
          if (now !== sent) {
            sent = now;
            yield create(HealthCheckResponseSchema, { status: now });
            continue;
          }
          if (closed || ctx.signal.aborted) {
            return;
          }
          await new Promise<void>((resolve) => {
            const done = () => {
              wakers.delete(done);
              ctx.signal.removeEventListener("abort", done);
              resolve();
            };
            wakers.add(done);
            ctx.signal.addEventListener("abort", done);
          });
        }
      },
    },
    setStatus(service, status) {
      if (draining || statuses.get(service) === status) {
        return;
      }
      statuses.set(service, status);
      wakeAll();
    },
    getStatus: (service) => statuses.get(service),
    drain() {
      draining = true;
      for (const service of statuses.keys()) {
        statuses.set(service, ServingStatus.NOT_SERVING);
      }
      wakeAll();
    },
    closeWatches() {
      closed = true;
      wakeAll();
    },
  };
}
