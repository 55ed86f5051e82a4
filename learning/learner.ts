import type { Logger } from "pino";
import {
  createDetector,
  createRandom,
  type Detector,
  type ModelFile,
  type ModelLineage,
  modelVersion,
} from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { type DriftReport, measureDrift } from "./drift.js";
import { eventTimeMs } from "./event-time.js";
import type { FitModel } from "./fit.js";
import { createGuard, type GuardOptions, type GuardStats } from "./guard.js";
import type { ModelStore } from "./model-store.js";
import { checkPromotion, PROMOTION_DEFAULTS, type PromotionBounds } from "./promotion.js";
import { createWindowSample, type WindowSampleOptions } from "./window-sample.js";

/** The model holder the learner swaps into (the server's `ModelHolder` fits). */
export interface LearnerModels {
  current(): Detector | undefined;
  swap(detector: Detector): void;
}

/** Drift settings of the learner. */
export interface DriftOptions {
  /** PSI (feature or score) past which a `drift` warning is logged. Default 0.25. */
  warnPsi?: number;
  /** PSI past which a retrain starts before the schedule. Default 0.5. */
  retrainPsi?: number;
  /** Events between drift measurements. Default 5000. */
  everyEvents?: number;
}

/** Options of {@link createLearner}. */
export interface LearnerOptions {
  models: LearnerModels;
  /** The model serving now: the learner's first parent. */
  model: ModelFile;
  /**
   * A held-back slice of `model`'s training sample, when the caller has one:
   * the reference for drift and the first promotion check. Default: the
   * first unflagged events observed (the server does not have the trainer's data).
   */
  reference?: readonly NetworkEvent[] | undefined;
  /** How models are fitted (a worker thread in the server). */
  fit: FitModel;
  /** Where promoted and refused models are written; none keeps them in memory only. */
  store?: ModelStore | undefined;
  logger: Logger;
  /** Retrain after this many events were observed; undefined: not by count. */
  retrainEveryEvents?: number | undefined;
  /** Retrain after this much event time; undefined: not by time. */
  retrainEveryMs?: number | undefined;
  /** Bounds of the learnable sample; default 1-hour windows, a week (168) of them, 500 events each. */
  window?: Partial<Omit<WindowSampleOptions, "seed">>;
  /** Windows over which an older window's share of the sample halves. Default 48 (two days of 1-hour windows). */
  halfLifeWindows?: number;
  guard?: GuardOptions;
  promotion?: Partial<PromotionBounds>;
  drift?: DriftOptions;
  /** `--threshold` override applied to every learned model. */
  threshold?: number | undefined;
  /** Share of each sample held back from training, for the next promotion check. Default 0.1. */
  heldBackShare?: number;
  /** Fewest sample events a retrain needs; fewer skip it. Default 500. */
  minTrainRows?: number;
  /**
   * Least event time the sample must span before a retrain: a model fitted
   * on a few hours calls every other hour of the week rare. Default 24 h.
   */
  minSampleSpanMs?: number;
  /** Seed of sampling. Default 1. */
  seed?: number;
}

/** How one retrain ended. */
export type RetrainOutcome =
  | { status: "promoted"; version: string; parent: string; path: string | undefined }
  | { status: "refused"; version: string; reason: string; path: string | undefined }
  | { status: "skipped"; reason: string }
  | { status: "failed"; reason: string };

/** What the learner reports in GetModelInfo. */
export interface LearnerStatus {
  lineage: ModelLineage | undefined;
  drift: DriftReport | undefined;
  /** Events observed, held in the learnable sample now, retrains promoted and refused. */
  observed: number;
  sampleSize: number;
  promoted: number;
  refused: number;
  lastOutcome: RetrainOutcome | undefined;
  guard: GuardStats;
}

/**
 * Learns from the scored stream (`--learn`): keeps a bounded sample of
 * recent traffic, retrains on a schedule or on drift, checks the new model
 * against the current one, and swaps it in.
 */
export interface Learner {
  /**
   * Takes one scored batch: `scores[i]` is the score of `events[i]` at
   * `threshold`. Unflagged events enter the sample, flagged ones only past
   * the guard. Starts a retrain when one is due. Copies what it keeps:
   * `scores` may be reused after the call.
   */
  observe(events: readonly NetworkEvent[], scores: Float64Array, threshold: number): void;
  /** Retrains now (waiting for one in progress first). */
  retrain(trigger?: ModelLineage["trigger"]): Promise<RetrainOutcome>;
  /** The retrain in progress, if any. */
  pending(): Promise<RetrainOutcome> | undefined;
  /** Measures drift now against the current model's training slice. */
  measureDrift(): DriftReport | undefined;
  /** Makes `model` the parent of the next retrain (after a reload replaced the model). */
  adopt(model: ModelFile): void;
  /** Whether `version` is a model this learner promoted or started from. */
  owns(version: string): boolean;
  status(): LearnerStatus;
}

/** Events kept from each sample as the model's reference for drift and the next promotion check. */
const HELD_BACK_CAP = 2000;

/** Creates a {@link Learner}. */
export function createLearner(options: LearnerOptions): Learner {
  const log = options.logger.child({ component: "learn" });
  const seed = options.seed ?? 1;
  const windowMs = options.window?.windowMs ?? 3_600_000;
  const sample = createWindowSample({
    windowMs,
    windows: options.window?.windows ?? 168,
    perWindow: options.window?.perWindow ?? 500,
    seed,
  });
  // All traffic, flagged or not, of the last day of windows: what drift is
  // measured on. A whole day, so the hour of day does not pass for drift.
  const recent = createWindowSample({
    windowMs,
    windows: Math.max(1, Math.round(86_400_000 / windowMs)),
    perWindow: Math.max(50, Math.round(2400 / Math.max(1, Math.round(86_400_000 / windowMs)))),
    seed: seed + 1,
  });
  const guard = createGuard(options.guard);
  const bounds = { ...PROMOTION_DEFAULTS, ...options.promotion };
  const warnPsi = options.drift?.warnPsi ?? 0.25;
  const retrainPsi = options.drift?.retrainPsi ?? 0.5;
  const driftEvery = options.drift?.everyEvents ?? 5000;
  const halfLife = options.halfLifeWindows ?? 48;
  const heldBackShare = options.heldBackShare ?? 0.1;
  const minTrainRows = options.minTrainRows ?? 500;
  const minSpanMs = options.minSampleSpanMs ?? 24 * 3_600_000;
  const random = createRandom(seed + 2);
  const admitted = new WeakSet<NetworkEvent>();
  const owned = new Set<string>();

  let current = {
    model: options.model,
    heldBack: options.reference?.slice(0, HELD_BACK_CAP) as NetworkEvent[] | undefined,
  };
  owned.add(modelVersion(options.model));
  // Until a retrain gives the model a held-back slice: the first unflagged events seen.
  const firstSeen: NetworkEvent[] = [];
  let observed = 0;
  let sinceRetrain = 0;
  let sinceDrift = 0;
  let lastRetrainMs = Number.NaN;
  let latestMs = Number.NaN;
  let running: Promise<RetrainOutcome> | undefined;
  let drift: DriftReport | undefined;
  let lastOutcome: RetrainOutcome | undefined;
  let promoted = 0;
  let refused = 0;

  const detectorOf = (model: ModelFile): Detector => {
    const d = createDetector(model);
    return options.threshold === undefined ? d : d.withThreshold(options.threshold);
  };
  const reference = () => current.heldBack ?? firstSeen;

  const measure = (): DriftReport | undefined => {
    const recentEvents = recent.sample(1e9);
    const ref = reference();
    if (recentEvents.length < 50 || ref.length < 50) return undefined;
    const detector = options.models.current() ?? detectorOf(current.model);
    drift = measureDrift(current.model, detector, ref, recentEvents);
    return drift;
  };

  const retrainOnce = async (trigger: ModelLineage["trigger"]): Promise<RetrainOutcome> => {
    sinceRetrain = 0;
    if (Number.isFinite(latestMs)) lastRetrainMs = latestMs;
    const all = sample.sample(halfLife);
    if (all.length < minTrainRows) {
      return {
        status: "skipped",
        reason: `sample holds ${all.length} events, a retrain needs ${minTrainRows}`,
      };
    }
    // A seeded shuffle splits the sample into the training set and the held-back slice.
    for (let i = all.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      const t = all[i] as NetworkEvent;
      all[i] = all[j] as NetworkEvent;
      all[j] = t;
    }
    const nHeld = Math.min(HELD_BACK_CAP, Math.round(all.length * heldBackShare));
    const held = all.slice(0, nHeld);
    const train = all.slice(nHeld);
    let start = Number.POSITIVE_INFINITY;
    let end = Number.NEGATIVE_INFINITY;
    let nAdmitted = 0;
    for (const e of all) {
      const t = eventTimeMs(e, Number.NaN);
      if (t < start) start = t;
      if (t > end) end = t;
      if (admitted.has(e)) nAdmitted++;
    }
    if (!(end - start >= minSpanMs)) {
      const hours = Number.isFinite(end - start) ? ((end - start) / 3_600_000).toFixed(1) : "0";
      return {
        status: "skipped",
        reason: `sample spans ${hours} h, a retrain needs ${minSpanMs / 3_600_000} h`,
      };
    }
    const parent = current;
    const parentVersion = modelVersion(parent.model);
    const lineage: ModelLineage = {
      parentVersion,
      generation: (parent.model.lineage?.generation ?? 0) + 1,
      windowStart: Number.isFinite(start) ? new Date(start).toISOString() : "",
      windowEnd: Number.isFinite(end) ? new Date(end).toISOString() : "",
      trigger,
      admittedFlagged: nAdmitted,
    };
    const p = parent.model.params;
    const model = await options.fit(train, {
      nEstimators: p.nEstimators,
      maxSamples: p.maxSamples,
      contamination: p.contamination,
      seed: p.seed,
      lineage,
    });
    const version = modelVersion(model);
    const next = detectorOf(model);
    const serving = options.models.current() ?? detectorOf(parent.model);
    const check = checkPromotion(serving, next, parent.heldBack ?? held, bounds);
    const figures = {
      version,
      parent: parentVersion,
      trigger,
      window: [lineage.windowStart, lineage.windowEnd],
      trainRows: train.length,
      admittedFlagged: nAdmitted,
      heldBackRows: check.rows,
      flaggedBefore: round(check.oldFlagged),
      flaggedAfter: round(check.newFlagged),
      ks: round(check.ks),
    };
    if (!check.promote) {
      refused++;
      const reason = check.reason ?? "refused";
      const path = await options.store?.saveRefused(model, { reason, ...figures });
      log.warn(
        { ...figures, reason, path },
        "learned model refused; the current model keeps serving",
      );
      return { status: "refused", version, reason, path };
    }
    const path = await options.store?.saveLearned(model);
    current = { model, heldBack: held };
    owned.add(version);
    promoted++;
    options.models.swap(next);
    log.info({ ...figures, path }, "learned model promoted");
    return { status: "promoted", version, parent: parentVersion, path };
  };

  const retrain = (trigger: ModelLineage["trigger"] = "manual"): Promise<RetrainOutcome> => {
    const after = running ?? Promise.resolve(undefined);
    const mine: Promise<RetrainOutcome> = after
      .then(() => retrainOnce(trigger))
      .catch((e: unknown) => {
        const reason = e instanceof Error ? e.message : String(e);
        log.error({ trigger, reason }, "retrain failed; the current model keeps serving");
        return { status: "failed", reason } as const;
      })
      .then((outcome) => {
        if (outcome.status === "skipped")
          log.debug({ trigger, reason: outcome.reason }, "retrain skipped");
        lastOutcome = outcome;
        if (running === mine) running = undefined;
        return outcome;
      });
    running = mine;
    return mine;
  };

  return {
    observe(events, scores, threshold) {
      const now = Date.now();
      for (let i = 0; i < events.length; i++) {
        const e = events[i] as NetworkEvent;
        const t = eventTimeMs(e, now);
        if (!(t <= latestMs)) latestMs = t;
        recent.offer(e, t);
        if ((scores[i] as number) < threshold) {
          sample.offer(e, t);
          if (current.heldBack === undefined && firstSeen.length < HELD_BACK_CAP) firstSeen.push(e);
        } else if (guard.admit(e, t)) {
          admitted.add(e);
          sample.offer(e, t);
        }
      }
      observed += events.length;
      sinceRetrain += events.length;
      sinceDrift += events.length;
      if (Number.isNaN(lastRetrainMs)) lastRetrainMs = latestMs;
      if (running !== undefined) return;
      if (
        (options.retrainEveryEvents !== undefined && sinceRetrain >= options.retrainEveryEvents) ||
        (options.retrainEveryMs !== undefined && latestMs - lastRetrainMs >= options.retrainEveryMs)
      ) {
        void retrain("schedule");
        return;
      }
      if (sinceDrift < driftEvery) return;
      sinceDrift = 0;
      const report = measure();
      if (report === undefined) return;
      const worst = Math.max(report.scorePsi, report.maxFeaturePsi);
      if (worst < warnPsi) return;
      const early = worst >= retrainPsi && sinceRetrain >= driftEvery;
      log.warn(
        {
          scorePsi: round(report.scorePsi),
          maxFeaturePsi: round(report.maxFeaturePsi),
          worstFeature: report.worstFeature,
          warnPsi,
          retrainPsi,
        },
        early ? "drift past the retrain bound; retraining early" : "drift",
      );
      if (early) void retrain("drift");
    },
    retrain,
    pending: () => running,
    measureDrift: measure,
    adopt(model) {
      current = { model, heldBack: undefined };
      firstSeen.length = 0;
      owned.add(modelVersion(model));
      log.info({ modelVersion: modelVersion(model) }, "learning continues from a reloaded model");
    },
    owns: (version) => owned.has(version),
    status: () => ({
      lineage: current.model.lineage,
      drift,
      observed,
      sampleSize: sample.size,
      promoted,
      refused,
      lastOutcome,
      guard: guard.stats(),
    }),
  };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
