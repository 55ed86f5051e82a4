import type { Server, Socket } from "node:net";
import type { Logger } from "pino";
import { createLogBudget } from "./log-budget.js";

/** Default most open connections in total. */
export const DEFAULT_MAX_CONNECTIONS = 1024;

/** Default most open connections from one client address. */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 256;

/** Options for {@link limitConnections}. */
export interface ConnectionLimitsOptions {
  /** Open connections in total; a connection beyond it is closed at once. */
  maxConnections: number;
  /** Open connections from one remote address; likewise. */
  maxConnectionsPerIp: number;
  logger: Logger;
}

/** Counters of {@link limitConnections}. */
export interface ConnectionStats {
  /** Connections open now (accepted and not refused). */
  open: number;
  /** Connections refused because of a cap, in total. */
  refused: number;
}

/**
 * Caps connections in total and per client address (issue 23, items 1 and
 * 4): a connection over either cap is destroyed as it is accepted, before a
 * byte is read, and counted; the refusals are logged at most once a second
 * (with the count dropped in between). Install before any other
 * 'connection' listener that reads.
 */
export function limitConnections(
  server: Server,
  options: ConnectionLimitsOptions,
): ConnectionStats {
  const stats: ConnectionStats = { open: 0, refused: 0 };
  const byAddress = new Map<string, number>();
  const warn = createLogBudget(options.logger, { linesPerSecond: 1, burst: 3 });
  server.prependListener("connection", (socket: Socket) => {
    if (socket.destroyed) return;
    const address = socket.remoteAddress ?? "";
    const fromAddress = byAddress.get(address) ?? 0;
    if (stats.open >= options.maxConnections || fromAddress >= options.maxConnectionsPerIp) {
      stats.refused++;
      warn(
        {
          remoteAddress: address,
          open: stats.open,
          fromAddress,
          maxConnections: options.maxConnections,
          maxConnectionsPerIp: options.maxConnectionsPerIp,
        },
        "refused a connection over the connection limit",
      );
      socket.destroy();
      return;
    }
    stats.open++;
    byAddress.set(address, fromAddress + 1);
    socket.once("close", () => {
      stats.open--;
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left === 0) byAddress.delete(address);
      else byAddress.set(address, left);
    });
  });
  return stats;
}
