import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import {
  type AnomalyBroadcaster,
  createAnomalyBroadcaster,
} from "../dashboard/anomaly-broadcaster.js";
import type { Contribution, Detector } from "../detector/detector.js";
import {
  type EventResult,
  type FeedbackRequest,
  type FeedbackResponse,
  GetModelInfoResponseSchema,
  type ScoreRequest,
  type ScoreResponse,
  type ScoringService,
  type StreamScoreRequest,
  type StreamScoreResponse,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import {
  type FeatureContribution,
  type NetworkEvent,
  Verdict,
} from "../gen/netanomaly/v1/telemetry_pb.js";
import { validateEvent } from "../telemetry/validate.js";
import { clientIdKey } from "./auth.js";
import {
  checkBatch,
  eventViolationError,
  INVALID_ARGUMENT,
  MAX_BATCH_EVENTS,
  missingFieldError,
  noAlertsError,
  noModelError,
  rateLimitedError,
  shuttingDownError,
} from "./errors.js";
import { logAnomaly, rpcLoggerKey } from "./logging.js";
import type { ModelHolder, ScoreObserver } from "./model-holder.js";
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
  /** Told what each request or batch scored, rejected and flagged (metrics, alerts). */
  observer?: ScoringObserver;
  /** Answers `Feedback`; default: `failed_precondition`, the server has no alert outputs. */
  feedback?: FeedbackHandler;
  /**
   * Serves `WatchAnomalies`; it hears the scoring only through `observer`
   * (`createServerParts` joins its observer in). Default: a broadcaster of
   * this service's own, fed by nothing.
   */
  broadcaster?: AnomalyBroadcaster;
}

/** Answers one `Feedback` call; throws a `ConnectError` for a bad request or unknown alert. */
export type FeedbackHandler = (req: FeedbackRequest) => Promise<FeedbackResponse>;

/** An anomalous event as the {@link ScoringObserver} hears of it. */
export interface ScoredAnomaly {
  event: NetworkEvent;
  score: number;
  contributions: readonly Contribution[];
  /** `request_id` of the stream batch, if the event came in one. */
  requestId?: string;
}

/**
 * Hears, once per request or stream batch (never per event, except for the
 * rare rejected event), what the scoring functions did, on both the Connect
 * path and the gRPC fast path: feeds metrics and alerts. Must not throw.
 */
export interface ScoringObserver {
  /**
   * Valid events of one request or batch were scored with `detector`:
   * `scores[0..n)`; `anomalies` are those at or over its threshold.
   */
  scored(
    detector: Detector,
    scores: ArrayLike<number>,
    n: number,
    anomalies: readonly ScoredAnomaly[],
  ): void;
  /** `n` events were rejected for breaking a rule on `field`. */
  rejected(field: string, n: number): void;
  /** A call or batch was refused by the rate limiter. */
  rateLimited(): void;
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
  const { models, rateLimiter, observer } = options;
  const broadcaster = options.broadcaster ?? createAnomalyBroadcaster({ models });
  const snapshot = () => snapshotDetector(models);
  const loggerOf = (ctx: HandlerContext) => ctx.values.get(rpcLoggerKey) ?? options.logger;

  return {
    score(req, ctx) {
      return scoreRequest(
        req,
        models,
        rateLimiter,
        ctx.values.get(clientIdKey),
        loggerOf(ctx),
        observer,
      );
    },

    async *streamScore(requests, ctx) {
      const log = loggerOf(ctx);
      const client = ctx.values.get(clientIdKey);
      const scores = new Float64Array(MAX_BATCH_EVENTS);
      const iterator = requests[Symbol.asyncIterator]();
      for (;;) {
        const next = await nextUnlessClosing(iterator, options.closing, ctx.signal);
        if (next === "closing") {
          throw shuttingDownError();
        }
        if (next === "aborted") {
          // The deadline passed (or the client cancelled) while waiting for a request.
          throw ConnectError.from(ctx.signal.reason, Code.Canceled);
        }
        if (next.done === true) {
          return;
        }
        checkRateLimit(rateLimiter, client, next.value.events.length, observer);
        yield scoreBatchRequest(
          next.value,
          snapshot(),
          scores,
          log,
          ctx.signal,
          observer,
          models.observer,
        );
      }
    },

    watchAnomalies(req, ctx) {
      return broadcaster.watch(req.backlog, ctx.signal, options.closing);
    },

    feedback(req) {
      if (options.feedback === undefined) {
        throw noAlertsError();
      }
      return options.feedback(req);
    },

    getModelInfo() {
      const detector = snapshot();
      const info = detector.info;
      const learner = models.observer?.status();
      const lineage = info.lineage;
      return create(GetModelInfoResponseSchema, {
        ...(lineage === undefined
          ? {}
          : {
              lineage: {
                parentVersion: lineage.parentVersion,
                generation: lineage.generation,
                windowStart: timestampOf(lineage.windowStart),
                windowEnd: timestampOf(lineage.windowEnd),
                trigger: lineage.trigger,
                admittedFlagged: BigInt(lineage.admittedFlagged),
              },
            }),
        learning: learner !== undefined,
        ...(learner?.drift === undefined
          ? {}
          : {
              drift: {
                scorePsi: learner.drift.scorePsi,
                features: learner.drift.features,
                maxFeaturePsi: learner.drift.maxFeaturePsi,
                worstFeature: learner.drift.worstFeature,
                referenceRows: BigInt(learner.drift.referenceRows),
                recentRows: BigInt(learner.drift.recentRows),
              },
            }),
        retrainsPromoted: BigInt(learner?.promoted ?? 0),
        retrainsRefused: BigInt(learner?.refused ?? 0),
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
        fields: [...info.fields],
      });
    },
  };
}

function timestampOf(iso: string) {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? timestampFromMs(ms) : undefined;
}

/**
 * Takes the detector one request (or stream batch) scores with.
 *
 * @throws ConnectError `unavailable` while no model is loaded.
 */
export function snapshotDetector(models: ModelHolder): Detector {
  const detector = models.current();
  if (detector === undefined) {
    throw noModelError();
  }
  return detector;
}

/**
 * Takes one request and `events` events from `client`'s rate-limit buckets.
 *
 * @throws ConnectError `resource_exhausted` when either bucket is short.
 */
export function checkRateLimit(
  rateLimiter: RateLimiter | undefined,
  client: string,
  events: number,
  observer?: ScoringObserver,
): void {
  if (rateLimiter === undefined || !rateLimiter.enabled) {
    return;
  }
  const decision = rateLimiter.take(client, events);
  if (!decision.ok) {
    observer?.rateLimited();
    throw rateLimitedError(`too many ${decision.limit} per second`, decision.retryAfterMs);
  }
}

/**
 * Answers one `Score` request, whichever transport brought it: checks the
 * event (`invalid_argument`), the caller's rate (`resource_exhausted`) and
 * the model (`unavailable`), in that order, then scores, explains and logs
 * an anomaly at `warn` through `log`.
 */
export function scoreRequest(
  req: ScoreRequest,
  models: ModelHolder,
  rateLimiter: RateLimiter | undefined,
  client: string,
  log: Logger,
  observer?: ScoringObserver,
): ScoreResponse {
  const event = req.event;
  if (event === undefined) {
    observer?.rejected("event", 1);
    throw missingFieldError("event");
  }
  const violation = validateEvent(event);
  if (violation !== undefined) {
    observer?.rejected(violation.field, 1);
    throw eventViolationError(violation);
  }
  checkRateLimit(rateLimiter, client, 1, observer);
  const detector = snapshotDetector(models);
  const { score, contributions } = detector.scoreAndExplain(event, TOP_CONTRIBUTIONS);
  const anomalous = score >= detector.threshold;
  if (models.observer !== undefined) {
    models.observer.observe([event], Float64Array.of(score), detector.threshold);
  }
  if (anomalous) {
    logAnomaly(log, event, {
      score,
      threshold: detector.threshold,
      modelVersion: detector.info.version,
      contributions,
    });
  }
  observer?.scored(detector, [score], 1, anomalous ? [{ event, score, contributions }] : []);
  return {
    $typeName: "netanomaly.v1.ScoreResponse",
    score,
    verdict: anomalous ? Verdict.ANOMALOUS : Verdict.NORMAL,
    threshold: detector.threshold,
    modelVersion: detector.info.version,
    contributions: contributions.map(toWire),
  };
}

/**
 * Scores one `StreamScore` batch with one detector snapshot: bad events get
 * an `EventError`, the rest are scored with one `scoreBatch` call; only
 * anomalies are explained and logged. A batch that breaks a whole-request
 * rule is answered with one error result. `signal` is checked every
 * {@link SIGNAL_CHECK_EVERY} events. The valid events and their scores
 * are offered to `learner` (the `--learn` learner) when there is one;
 * `observer` (metrics, alerts) hears what was scored, rejected and flagged.
 *
 * @param scores scratch space of at least {@link MAX_BATCH_EVENTS} entries.
 */
export function scoreBatchRequest(
  req: StreamScoreRequest,
  detector: Detector,
  scores: Float64Array,
  log: Logger,
  signal?: AbortSignal,
  observer?: ScoringObserver,
  learner?: ScoreObserver,
): StreamScoreResponse {
  const { threshold } = detector;
  const modelVersion = detector.info.version;
  const batchProblem = checkBatch(req.requestId, req.events.length);
  if (batchProblem !== undefined) {
    observer?.rejected(batchProblem.field, req.events.length);
    return streamResponse(req.requestId, modelVersion, threshold, [
      errorResult(batchProblem.field, batchProblem.message),
    ]);
  }
  const events = req.events;
  const results = new Array<EventResult>(events.length);
  const valid: NetworkEvent[] = [];
  const positions: number[] = [];
  for (let i = 0; i < events.length; i++) {
    if (signal !== undefined && i % SIGNAL_CHECK_EVERY === 0) {
      signal.throwIfAborted();
    }
    const event = events[i] as NetworkEvent;
    const violation = validateEvent(event);
    if (violation === undefined) {
      valid.push(event);
      positions.push(i);
    } else {
      results[i] = errorResult(violation.field, violation.message);
      observer?.rejected(violation.field, 1);
    }
  }
  if (valid.length > 0) {
    detector.scoreBatch(valid, scores);
    if (learner !== undefined) {
      learner.observe(valid, scores, threshold);
    }
  }
  let anomalies: ScoredAnomaly[] | undefined;
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
      if (observer !== undefined) {
        anomalies ??= [];
        anomalies.push({ event, score, contributions, requestId: req.requestId });
      }
    }
    results[positions[j] as number] = {
      $typeName: "netanomaly.v1.EventResult",
      outcome: {
        case: "score",
        value: {
          $typeName: "netanomaly.v1.EventScore",
          score,
          verdict: anomalous ? Verdict.ANOMALOUS : Verdict.NORMAL,
          contributions: contributions.map(toWire),
        },
      },
    };
  }
  observer?.scored(detector, scores, valid.length, anomalies ?? NO_ANOMALIES);
  return streamResponse(req.requestId, modelVersion, threshold, results);
}

const NO_ANOMALIES: readonly ScoredAnomaly[] = [];

// Plain objects of the generated types: `create()` walks the schema per call,
// which costs more than scoring an event; proto3 messages are plain objects anyway.
function streamResponse(
  requestId: string,
  modelVersion: string,
  threshold: number,
  results: EventResult[],
): StreamScoreResponse {
  return {
    $typeName: "netanomaly.v1.StreamScoreResponse",
    requestId,
    results,
    modelVersion,
    threshold,
  };
}

function errorResult(field: string, message: string): EventResult {
  return {
    $typeName: "netanomaly.v1.EventResult",
    outcome: {
      case: "error",
      value: { $typeName: "netanomaly.v1.EventError", code: INVALID_ARGUMENT, message, field },
    },
  };
}

function toWire(c: Contribution): FeatureContribution {
  return {
    $typeName: "netanomaly.v1.FeatureContribution",
    feature: c.feature,
    contribution: c.contribution,
    value: c.value,
  };
}

/**
 * Waits for the next request, for the server to start closing, or for the
 * call's own signal (its deadline, or the client cancelling), whichever
 * comes first; a pending read is abandoned (Connect closes the stream).
 */
async function nextUnlessClosing<T>(
  iterator: AsyncIterator<T>,
  closing: AbortSignal | undefined,
  call: AbortSignal,
): Promise<IteratorResult<T> | "closing" | "aborted"> {
  if (closing?.aborted) return "closing";
  if (call.aborted) return "aborted";
  let onClosing = () => {};
  let onAborted = () => {};
  const stopped = new Promise<"closing" | "aborted">((resolve) => {
    onClosing = () => resolve("closing");
    onAborted = () => resolve("aborted");
    closing?.addEventListener("abort", onClosing, { once: true });
    call.addEventListener("abort", onAborted, { once: true });
  });
  try {
    return await Promise.race([iterator.next(), stopped]);
  } finally {
    closing?.removeEventListener("abort", onClosing);
    call.removeEventListener("abort", onAborted);
  }
}
