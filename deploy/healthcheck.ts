/**
 * A container health probe speaking the gRPC health protocol
 * (grpc.health.v1.Health/Check), so the image needs neither curl nor
 * grpc-health-probe. Compiled to dist/deploy/healthcheck.js and run by the
 * Dockerfile's HEALTHCHECK and by docker-compose.
 *
 * Usage: node dist/deploy/healthcheck.js [--target URL] [--service NAME] [--timeout-ms N]
 *
 * Defaults: target `http://127.0.0.1:$NETANOMALY_PORT` (port 50051), service
 * `""` (the whole server), timeout 3000 ms. Exits 0 when the status is
 * SERVING; otherwise prints one line on stderr and exits 1 (2 for bad flags).
 */
import { parseArgs } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";

/** Asks the server's health service once; resolves with the exit code. */
async function main(): Promise<number> {
  let values: { target?: string; service?: string; "timeout-ms"?: string };
  try {
    ({ values } = parseArgs({
      options: {
        target: { type: "string" },
        service: { type: "string" },
        "timeout-ms": { type: "string" },
      },
    }));
  } catch (err) {
    process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const port = process.env.NETANOMALY_PORT ?? "50051";
  const target = values.target ?? `http://127.0.0.1:${port}`;
  const timeoutMs = Number(values["timeout-ms"] ?? "3000");
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    process.stderr.write(
      `healthcheck: --timeout-ms must be a positive integer, got ${values["timeout-ms"]}\n`,
    );
    return 2;
  }
  const client = createClient(Health, createGrpcTransport({ baseUrl: target }));
  try {
    const res = await client.check({ service: values.service ?? "" }, { timeoutMs });
    if (res.status === ServingStatus.SERVING) {
      return 0;
    }
    process.stderr.write(`healthcheck: ${target} is ${ServingStatus[res.status]}\n`);
  } catch (err) {
    // Code names the wire way: "unavailable", "deadline_exceeded".
    const code = Code[ConnectError.from(err).code]
      .replace(/([a-z])([A-Z])/g, "$1_$2")
      .toLowerCase();
    process.stderr.write(`healthcheck: ${target}: ${code}: ${ConnectError.from(err).rawMessage}\n`);
  }
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
