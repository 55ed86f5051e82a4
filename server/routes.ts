import type { ConnectRouter } from "@connectrpc/connect";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { HealthService } from "./health.js";
import { registerReflection } from "./reflection.js";
import { createScoringService, type ScoringServiceOptions } from "./scoring-service.js";

/** Options for {@link createRoutes}. */
export interface RoutesOptions extends ScoringServiceOptions {
  /** The health service to serve; see `createHealthService`. */
  health: HealthService;
}

/**
 * The routes of the server: `netanomaly.v1.ScoringService`,
 * `grpc.health.v1.Health`, and server reflection (v1 and v1alpha) describing
 * all of them. Pass to `connectNodeAdapter` or `createRouterTransport`.
 */
export function createRoutes(options: RoutesOptions): (router: ConnectRouter) => void {
  const scoring = createScoringService(options);
  return (router) => {
    router.service(ScoringService, scoring);
    router.service(Health, options.health.impl);
    registerReflection(router, [ScoringService, Health]);
  };
}
