import { createClient, createRouterTransport } from "@connectrpc/connect";
import { type Logger, pino } from "pino";
import type { Detector } from "../../detector/index.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ScoringService } from "../../gen/netanomaly/v1/scoring_service_pb.js";
import { createServerParts, type ServerParts } from "../server.js";

/** A pino logger writing parsed JSON objects into `lines`, synchronously. */
export function captureLogs(level = "info"): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines };
}

/**
 * The server's real routes and interceptors behind `createRouterTransport`,
 * with clients for the scoring and health services and captured logs.
 */
export function inMemoryServer(detector?: Detector) {
  const { logger, lines } = captureLogs();
  const parts: ServerParts = createServerParts({ detector, logger });
  const transport = createRouterTransport(parts.connect.routes, { router: parts.connect });
  return {
    ...parts,
    transport,
    logs: lines,
    scoring: createClient(ScoringService, transport),
    health: parts.health,
    healthClient: createClient(Health, transport),
  };
}
