import type { Detector } from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { ksStatistic } from "./psi.js";

/** How far a new model may move from the old one on the held-back slice and still be promoted. */
export interface PromotionBounds {
  /**
   * Largest change in the share of held-back events flagged: the old model
   * at its threshold against the new one at its own. Default 0.05 (five
   * points: at a 1 % calibration, a new model flagging 6 % of the traffic
   * the old one was trained on is refused).
   */
  maxFlaggedShift: number;
  /**
   * Largest two-sample Kolmogorov–Smirnov statistic between the two
   * models' score distributions on the slice. Default 0.5: forests grown
   * on different samples shift scores a little, not half the distribution.
   */
  maxKs: number;
  /** Fewest held-back events the check needs; fewer refuse the model. Default 50. */
  minRows: number;
}

/** Defaults of {@link PromotionBounds}. */
export const PROMOTION_DEFAULTS: PromotionBounds = {
  maxFlaggedShift: 0.05,
  maxKs: 0.5,
  minRows: 50,
};

/** The outcome of {@link checkPromotion}, with the figures it was decided on. */
export interface PromotionCheck {
  promote: boolean;
  /** Why not, in words, when `promote` is false. */
  reason: string | undefined;
  oldFlagged: number;
  newFlagged: number;
  ks: number;
  rows: number;
}

/**
 * Decides whether `next` may replace `current`: both score the held-back
 * slice of the current model's training sample (events neither was fitted
 * on... for the next, events it never saw), and the next is refused when the
 * share it flags moves by more than `maxFlaggedShift` or its score
 * distribution differs by a KS statistic above `maxKs`.
 */
export function checkPromotion(
  current: Detector,
  next: Detector,
  heldBack: readonly NetworkEvent[],
  bounds: PromotionBounds = PROMOTION_DEFAULTS,
): PromotionCheck {
  const rows = heldBack.length;
  if (rows < bounds.minRows) {
    return {
      promote: false,
      reason: `held-back slice has ${rows} events, the check needs ${bounds.minRows}`,
      oldFlagged: 0,
      newFlagged: 0,
      ks: 0,
      rows,
    };
  }
  const a = new Float64Array(rows);
  const b = new Float64Array(rows);
  current.scoreBatch(heldBack, a);
  next.scoreBatch(heldBack, b);
  let oldN = 0;
  let newN = 0;
  for (let i = 0; i < rows; i++) {
    if ((a[i] as number) >= current.threshold) oldN++;
    if ((b[i] as number) >= next.threshold) newN++;
  }
  const oldFlagged = oldN / rows;
  const newFlagged = newN / rows;
  const ks = ksStatistic(a, b);
  let reason: string | undefined;
  if (Math.abs(newFlagged - oldFlagged) > bounds.maxFlaggedShift) {
    reason = `flags ${(newFlagged * 100).toFixed(1)}% of the held-back slice, the current model ${(oldFlagged * 100).toFixed(1)}% (bound ±${(bounds.maxFlaggedShift * 100).toFixed(1)} points)`;
  } else if (ks > bounds.maxKs) {
    reason = `score distribution on the held-back slice differs by KS ${ks.toFixed(3)} (bound ${bounds.maxKs})`;
  }
  return { promote: reason === undefined, reason, oldFlagged, newFlagged, ks, rows };
}
