import type { Logger } from "pino";
import {
  createDetector,
  type Detector,
  type ModelFile,
  modelVersion,
  readModelFile,
} from "../detector/index.js";
import { readBenignPatterns } from "../learning/benign-patterns.js";
import { createLearner, type Learner } from "../learning/learner.js";
import { openModelStore } from "../learning/model-store.js";
import { createWorkerFit } from "../learning/worker-fit.js";
import type { LearnConfig } from "./learn-config.js";
import type { ModelHolder } from "./model-holder.js";

/** What {@link startLearning} returns. */
export interface Learning {
  learner: Learner;
  /** The model to serve first: the newest good learned model, or the `--model` file. */
  detector: Detector;
  /** Stops the retrain worker. */
  close(): Promise<void>;
}

/**
 * Prepares `--learn`: opens the learned-models directory and resumes from
 * its newest good model (else `--model`), reads the benign patterns, and
 * starts the retrain worker. Call `attach` once the model holder exists.
 */
export async function startLearning(
  config: LearnConfig,
  modelPath: string,
  threshold: number | undefined,
  logger: Logger,
): Promise<Learning & { model: ModelFile; attach(models: ModelHolder): void }> {
  const log = logger.child({ component: "learn" });
  const store = await openModelStore(config.dir);
  const resumed = await store.newestGood((path, message) =>
    log.warn({ path, reason: message }, "skipped a learned model that does not load"),
  );
  const model = resumed?.model ?? (await readModelFile(modelPath));
  if (resumed !== undefined) {
    log.info(
      {
        path: resumed.path,
        modelVersion: modelVersion(resumed.model),
        lineage: resumed.model.lineage,
      },
      "resumed from the newest learned model",
    );
  }
  let detector = createDetector(model);
  if (threshold !== undefined) detector = detector.withThreshold(threshold);
  let badLines = 0;
  const benign =
    config.benign === undefined
      ? undefined
      : await readBenignPatterns(config.benign, (e) => {
          badLines++;
          log.warn({ where: e.where, reason: e.message }, "benign pattern skipped");
        });
  if (benign !== undefined)
    log.info(
      { file: config.benign, rules: benign.size, skipped: badLines },
      "benign patterns read",
    );
  const worker = createWorkerFit();
  let learner: Learner | undefined;
  const attach = (models: ModelHolder) => {
    learner = createLearner({
      models,
      model,
      fit:
        config.fitWorkers === undefined
          ? worker.fit
          : (events, options) => worker.fit(events, { ...options, fitWorkers: config.fitWorkers }),
      store,
      logger,
      retrainEveryEvents: config.everyEvents,
      retrainEveryMs: config.everyMs,
      guard: {
        minHosts: config.guardHosts,
        minSpanMs: config.guardMinutes * 60_000,
        maxPerPattern: config.guardRate,
        benign,
      },
      drift: { warnPsi: config.driftWarn, retrainPsi: config.driftRetrain },
      threshold,
    });
    const own = learner;
    models.observer = own;
    // A reload (SIGHUP) of --model: learning goes on from that model.
    models.onSwap((d) => {
      if (own.owns(d.info.version)) return;
      void readModelFile(modelPath).then(
        (m) => own.adopt(m),
        (e: unknown) =>
          log.warn({ reason: (e as Error).message }, "could not adopt the reloaded model"),
      );
    });
  };
  return {
    get learner() {
      if (learner === undefined) throw new Error("learning is not attached to a model holder");
      return learner;
    },
    detector,
    model,
    attach,
    close: () => worker.close(),
  };
}
