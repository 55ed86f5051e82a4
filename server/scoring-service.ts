import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Contribution, Detector } from "../detector/detector.js";
import {
  type EventResult,
  EventResultSchema,
  GetModelInfoResponseSchema,
  ScoreResponseSchema,
  type ScoringService,
  type StreamScoreRequest,
  StreamScoreResponseSchema,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { type NetworkEvent, Verdict } from "../gen/netanomaly/v1/telemetry_pb.js";
import { validateEvent } from "../telemetry/validate.js";
import { clientIdKey } from "./auth.js";
import {
  checkBatch,
  eventViolationError,
  INVALID_ARGUMENT,
  MAX_BATCH_EVENTS,
  missingFieldError,
  noModelError,
  rateLimitedError,
  shuttingDownError,
} from "./errors.js";
import { logAnomaly, rpcLoggerKey } from "./logging.js";
import type { ModelHolder } from "./model-holder.js";
import type { RateLimiter } from "./rate-limit.js";

/** How many feature contributions a score carries, largest first. */
export const TOP_CONTRIBUTIONS = 5;

/** How often (in events) long loops look at `ctx.signal`. */
const SIGNAL_CHECK_EVERY = 256;

/** Options for {@link createScoringService}. */
export interface ScoringServiceOptions {
  /** Where the current detector comes from; each request takes one snapshot. */
  models: ModelHolder;
  /** Fallback logger when the logging interceptor is not installed. */
  logger: Logger;
  /**
   * Aborted when the server starts shutting down: open `StreamScore` streams
   * finish the batch in hand, then end with `unavailable` so agents reconnect.
   */
  closing?: AbortSignal;
  /**
   * Per-client limits, keyed by the caller the auth interceptor recorded.
   * An over-limit `Score` fails with `resource_exhausted`; an over-limit
   * `StreamScore` batch is not scored and ends the stream with
   * `resource_exhausted` (batches before it were answered), so the agent
   * backs off and resends it on a new stream.
   */
  rateLimiter?: RateLimiter;
}

/**
 * Implements `netanomaly.v1.ScoringService`: validates events with the
 * telemetry rules, scores them with the current detector, and explains
 * anomalies. Whole-request problems in `StreamScore` (no events, more than
 * 1000, a `request_id` over 128 characters) are answered with a response
 * holding one error result naming the field; the stream goes on.
 */
export function createScoringService(
  options: ScoringServiceOptions,
): ServiceImpl<typeof ScoringService> {
  const { models } = options;
  const snapshot = (): Detector => {
    const detector = models.current();
    if (detector === undefined) {
      throw noModelError();
    }
    return detector;
  };
  const loggerOf = (ctx: HandlerContext) => ctx.values.get(rpcLoggerKey) ?? options.logger;
  const { rateLimiter } = options;
  const checkRate = (ctx: HandlerContext, events: number) => {
    if (rateLimiter === undefined || !rateLimiter.enabled) {
      return;
    }
    const decision = rateLimiter.take(ctx.values.get(clientIdKey), events);
    if (!decision.ok) {
      throw rateLimitedError(`too many ${decision.limit} per second`, decision.retryAfterMs);
    }
  };

  return {
    score(req, ctx) {
      const event = req.event;
      if (event === undefined) {
        throw missingFieldError("event");
      }
      const violation = validateEvent(event);
      if (violation !== undefined) {
        throw eventViolationError(violation);
      }
      checkRate(ctx, 1);
      const detector = snapshot();
      const score = detector.score(event);
      const anomalous = score >= detector.threshold;
      const contributions = detector.explain(event, TOP_CONTRIBUTIONS);
      if (anomalous) {
        logAnomaly(loggerOf(ctx), event, {
          score,
          threshold: detector.threshold,
          modelVersion: detector.info.version,
          contributions,
        });
      }
      return create(ScoreResponseSchema, {
        score,
        verdict: anomalous ? Verdict.ANOMALOUS : Verdict.NORMAL,
        threshold: detector.threshold,
        modelVersion: detector.info.version,
        contributions: contributions.map(toWire),
      });
    },

    async *streamScore(requests, ctx) {
      const log = loggerOf(ctx);
      const scores = new Float64Array(MAX_BATCH_EVENTS);
      const iterator = requests[Symbol.asyncIterator]();
      for (;;) {
        const next = await nextUnlessClosing(iterator, options.closing);
        if (next === "closing") {
          throw shuttingDownError();
        }
        if (next.done === true) {
          return;
        }
        checkRate(ctx, next.value.events.length);
        yield scoreBatch(next.value, snapshot(), scores, ctx, log);
      }
    },

    getModelInfo() {
      const detector = snapshot();
      const info = detector.info;
      return create(GetModelInfoResponseSchema, {
        modelVersion: info.version,
        formatVersion: info.formatVersion,
        dataEndTime:
          info.dataEndTimeMs === undefined ? undefined : timestampFromMs(info.dataEndTimeMs),
        nEstimators: info.nEstimators,
        maxSamples: info.maxSamples,
        maxDepth: info.maxDepth,
        seed: BigInt(info.seed),
        contamination: info.contamination === "auto" ? 0 : info.contamination,
        threshold: detector.threshold,
        modelThreshold: info.threshold,
        trainingRows: BigInt(info.trainingRows),
        features: [...info.features],
      });
    },
  };
}

/**
 * Scores one stream batch: bad events get an `EventError`, the rest are
 * scored with one `scoreBatch` call; only anomalies are explained and logged.
 */
function scoreBatch(
  req: StreamScoreRequest,
  detector: Detector,
  scores: Float64Array,
  ctx: HandlerContext,
  log: Logger,
) {
  const { threshold } = detector;
  const modelVersion = detector.info.version;
  const batchProblem = checkBatch(req.requestId, req.events.length);
  if (batchProblem !== undefined) {
    return create(StreamScoreResponseSchema, {
      requestId: req.requestId,
      modelVersion,
      threshold,
      results: [errorResult(batchProblem.field, batchProblem.message)],
    });
  }
  const results = new Array<EventResult>(req.events.length);
  const valid: NetworkEvent[] = [];
  const positions: number[] = [];
  req.events.forEach((event, i) => {
    if (i % SIGNAL_CHECK_EVERY === 0) {
      ctx.signal.throwIfAborted();
    }
    const violation = validateEvent(event);
    if (violation === undefined) {
      valid.push(event);
      positions.push(i);
    } else {
      results[i] = errorResult(violation.field, violation.message);
    }
  });
  if (valid.length > 0) {
    detector.scoreBatch(valid, scores);
  }
  for (let j = 0; j < valid.length; j++) {
    const score = scores[j] as number;
    const event = valid[j] as NetworkEvent;
    let contributions: Contribution[] = [];
    const anomalous = score >= threshold;
    if (anomalous) {
      contributions = detector.explain(event, TOP_CONTRIBUTIONS);
      logAnomaly(log, event, {
        score,
        threshold,
        modelVersion,
        contributions,
        requestId: req.requestId,
      });
    }
    results[positions[j] as number] = create(EventResultSchema, {
      outcome: {
        case: "score",
        value: {
          score,
          verdict: anomalous ? Verdict.ANOMALOUS : Verdict.NORMAL,
          contributions: contributions.map(toWire),
        },
      },
    });
  }
  return create(StreamScoreResponseSchema, {
    requestId: req.requestId,
    modelVersion,
    threshold,
    results,
  });
}

function errorResult(field: string, message: string): EventResult {
  return create(EventResultSchema, {
    outcome: { case: "error", value: { code: INVALID_ARGUMENT, message, field } },
  });
}

function toWire(c: Contribution) {
  return { feature: c.feature, contribution: c.contribution, value: c.value };
}

/**
 * Waits for the next request, or for the server to start closing, whichever
 * comes first; a pending read is abandoned (Connect closes the stream).
 */
async function nextUnlessClosing<T>(
  iterator: AsyncIterator<T>,
  closing: AbortSignal | undefined,
): Promise<IteratorResult<T> | "closing"> {
  if (closing === undefined) {
    return iterator.next();
  }
  if (closing.aborted) {
    return "closing";
  }
  let onAbort = () => {};
  const closed = new Promise<"closing">((resolve) => {
    onAbort = () => resolve("closing");
    closing.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([iterator.next(), closed]);
  } finally {
    closing.removeEventListener("abort", onAbort);
  }
}
