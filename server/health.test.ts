import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { testDetector } from "./testdata/detector.js";
import { inMemoryServer } from "./testdata/harness.js";

const SCORING = "netanomaly.v1.ScoringService";

async function codeOf(p: Promise<unknown>): Promise<Code | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

describe("grpc.health.v1.Health.Check", () => {
  it("reports SERVING for the server and the scoring service once a model is loaded", async () => {
    const { healthClient } = inMemoryServer(testDetector());
    expect((await healthClient.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    expect((await healthClient.check({ service: SCORING })).status).toBe(ServingStatus.SERVING);
  });

  it("reports NOT_SERVING while no model is loaded, SERVING after a swap", async () => {
    const { healthClient, models } = inMemoryServer();
    expect((await healthClient.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    models.swap(testDetector());
    expect((await healthClient.check({ service: SCORING })).status).toBe(ServingStatus.SERVING);
  });

  it("reports NOT_SERVING for good once draining", async () => {
    const { healthClient, health, models } = inMemoryServer(testDetector());
    health.drain();
    models.swap(testDetector());
    expect((await healthClient.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
  });

  it("fails an unknown service with not_found", async () => {
    const { healthClient } = inMemoryServer(testDetector());
    expect(await codeOf(healthClient.check({ service: "no.such.Service" }))).toBe(Code.NotFound);
  });
});

describe("grpc.health.v1.Health.Watch", () => {
  it("sends the current status at once, then each change", async () => {
    const { healthClient, models, health } = inMemoryServer();
    const abort = new AbortController();
    const stream = healthClient.watch({ service: SCORING }, { signal: abort.signal });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    models.swap(testDetector());
    expect((await it.next()).value?.status).toBe(ServingStatus.SERVING);
    health.drain();
    expect((await it.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    abort.abort();
    expect(await codeOf(it.next())).toBe(Code.Canceled);
  });

  it("sends SERVICE_UNKNOWN for an unknown service without ending the call", async () => {
    const { healthClient, health } = inMemoryServer(testDetector());
    const stream = healthClient.watch({ service: "no.such.Service" });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    health.closeWatches();
    expect((await it.next()).done).toBe(true);
  });

  it("ends open watches with OK when the server closes them", async () => {
    const { healthClient, health } = inMemoryServer(testDetector());
    const it = healthClient.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await it.next()).value?.status).toBe(ServingStatus.SERVING);
    health.drain();
    expect((await it.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    health.closeWatches();
    expect((await it.next()).done).toBe(true);
  });

  it("sends NOT_SERVING before ending when drain and close come together, as in shutdown", async () => {
    const { healthClient, health } = inMemoryServer(testDetector());
    const it = healthClient.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await it.next()).value?.status).toBe(ServingStatus.SERVING);
    health.drain();
    health.closeWatches();
    expect((await it.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    expect((await it.next()).done).toBe(true);
  });
});
