import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  type EventResult,
  EventResultSchema,
  ScoringService,
  type StreamScoreRequest,
  StreamScoreResponseSchema,
} from "../../gen/netanomaly/v1/scoring_service_pb.js";
import { type NetworkEvent, Verdict } from "../../gen/netanomaly/v1/telemetry_pb.js";
import { validateEvent } from "../../telemetry/validate.js";

/** What the fake server does after receiving a request (1-based count over its lifetime). */
export type RequestHook = (
  request: StreamScoreRequest,
  n: number,
  server: FakeScoringServer,
) => "answer" | "answer-twice" | "drop";

/**
 * A real Connect server (HTTP/2, port 0, loopback) implementing
 * `ScoringService.StreamScore` with a trivial rule, for testing the agent
 * against a live peer: events failing `validateEvent` get an EventError;
 * uploads over 5 MB are anomalous. Tests can kill its sessions or restart it
 * on the same port.
 */
export class FakeScoringServer {
  /** Requests received, over restarts. */
  requests = 0;
  /** Events received, over restarts (resent ones counted again). */
  events = 0;
  port = 0;
  private server: http2.Http2Server | undefined;
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(private readonly hook: RequestHook = () => "answer") {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on 127.0.0.1, on the previous port when restarting. */
  async start(): Promise<void> {
    const routes = (router: ConnectRouter) =>
      router.service(ScoringService, {
        streamScore: (requests) => this.streamScore(requests),
      });
    const server = http2.createServer(connectNodeAdapter({ routes }));
    server.on("session", (s) => {
      this.sessions.add(s);
      s.once("close", () => this.sessions.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Destroys every open HTTP/2 session: in-flight streams fail, the listener stays. */
  killSessions(): void {
    for (const s of this.sessions) s.destroy();
  }

  /** Kills the sessions and stops listening. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.killSessions();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async *streamScore(requests: AsyncIterable<StreamScoreRequest>) {
    for await (const request of requests) {
      this.requests++;
      this.events += request.events.length;
      const action = this.hook(request, this.requests, this);
      if (action === "drop") continue;
      const response = create(StreamScoreResponseSchema, {
        requestId: request.requestId,
        results: request.events.map(score),
        modelVersion: "fake",
        threshold: 0.5,
      });
      yield response;
      if (action === "answer-twice") yield response;
    }
  }
}

function score(event: NetworkEvent): EventResult {
  const violation = validateEvent(event);
  if (violation) {
    return create(EventResultSchema, {
      outcome: {
        case: "error",
        value: { code: "invalid_argument", message: violation.message, field: violation.field },
      },
    });
  }
  const anomalous = event.bytesSent > 5_000_000n;
  return create(EventResultSchema, {
    outcome: {
      case: "score",
      value: {
        score: anomalous ? 0.8 : 0.3,
        verdict: anomalous ? Verdict.ANOMALOUS : Verdict.NORMAL,
        contributions: anomalous
          ? [
              {
                feature: "bytes_sent_log",
                contribution: 1.5,
                value: Math.log(Number(event.bytesSent)),
              },
            ]
          : [],
      },
    },
  });
}
