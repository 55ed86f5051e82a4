import type { Interceptor } from "@connectrpc/connect";
import type { StreamScoreResponse } from "../../gen/netanomaly/v1/scoring_service_pb.js";

/**
 * A client interceptor that reports, as each `StreamScore` response arrives,
 * how many events it acknowledges: the load harnesses act on progress (kill
 * the server after N events, sample throughput) without touching the agent.
 */
export function ackCounter(onAcked: (events: number) => void): Interceptor {
  return (next) => async (req) => {
    const res = await next(req);
    if (!res.stream || req.method.name !== "StreamScore") return res;
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        for await (const m of messages) {
          onAcked((m as StreamScoreResponse).results.length);
          yield m;
        }
      })(),
    };
  };
}
