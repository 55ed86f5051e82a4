import type { Detector } from "../detector/detector.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import type { LearnerStatus } from "../learning/learner.js";

/**
 * Sees every scored batch (the `--learn` learner). `observe` runs on the
 * scoring path, once per batch: it must be cheap and must not keep `scores`.
 */
export interface ScoreObserver {
  observe(events: readonly NetworkEvent[], scores: Float64Array, threshold: number): void;
  status(): LearnerStatus;
}

/**
 * Holds the detector the server scores with, so a reload can replace it
 * atomically. Every request (or stream batch) takes one snapshot with
 * `current()` and uses it throughout, so a batch never mixes two models.
 */
export interface ModelHolder {
  /** The detector to score with, or `undefined` while no model is loaded. */
  current(): Detector | undefined;
  /** Replaces the detector; later snapshots see the new one. */
  swap(detector: Detector): void;
  /** Calls `listener` after every swap; returns a function that unsubscribes. */
  onSwap(listener: (detector: Detector) => void): () => void;
  /**
   * Offered every scored batch when set (`--learn`); undefined by default,
   * which the scoring path checks once per batch and otherwise ignores.
   */
  observer: ScoreObserver | undefined;
}

/**
 * Creates a {@link ModelHolder}.
 *
 * @param initial the detector to start with; omit to start with no model
 *   (RPCs then fail with `unavailable` until `swap` is called).
 */
export function createModelHolder(initial?: Detector): ModelHolder {
  let detector = initial;
  const listeners = new Set<(detector: Detector) => void>();
  return {
    observer: undefined,
    current: () => detector,
    swap(next) {
      detector = next;
      for (const listener of listeners) {
        listener(next);
      }
    },
    onSwap(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
