import { dirname, join, resolve } from "node:path";
import { UsageError, workersFlag } from "../cli/usage-error.js";
import { MAX_FIT_WORKERS } from "../detector/index.js";

/** `--learn` settings (see docs/operations.md, "Learning from the stream"). */
export interface LearnConfig {
  /** Directory learned and refused models are written to, and resumed from. */
  dir: string;
  /** Retrain after this many events, or after this much event time (ms). */
  everyEvents: number | undefined;
  everyMs: number | undefined;
  /** Guard: hosts (K) and minutes (T) a flagged pattern needs, and its admissions per hour. */
  guardHosts: number;
  guardMinutes: number;
  guardRate: number;
  /** File of benign patterns, admitted at once. */
  benign: string | undefined;
  /** PSI past which drift is logged, and past which a retrain starts early. */
  driftWarn: number;
  driftRetrain: number;
  /** Worker threads each retrain grows its forest in (per-tree seeding); undefined: the retrain worker alone. */
  fitWorkers: number | undefined;
}

/** `parseArgs` options of the learning flags, merged into the server's. */
export const LEARN_FLAGS = {
  learn: { type: "boolean" },
  "retrain-every": { type: "string" },
  "learn-dir": { type: "string" },
  "guard-hosts": { type: "string" },
  "guard-minutes": { type: "string" },
  "guard-rate": { type: "string" },
  benign: { type: "string" },
  "drift-warn": { type: "string" },
  "drift-retrain": { type: "string" },
  "fit-workers": { type: "string" },
} as const;

/**
 * Reads the learning flags: undefined without `--learn` (another learning
 * flag without it is a usage error, so a typo does not silently disable it).
 *
 * @throws UsageError naming the flag and the value.
 */
export function parseLearnConfig(
  values: Record<string, unknown>,
  model: string,
): LearnConfig | undefined {
  const given = Object.keys(LEARN_FLAGS).filter((f) => f !== "learn" && values[f] !== undefined);
  if (values.learn !== true) {
    if (given.length > 0) throw new UsageError(`--${given[0]} needs --learn`);
    return undefined;
  }
  const text = (f: string) => (typeof values[f] === "string" ? (values[f] as string) : undefined);
  const every = parseEvery(text("retrain-every") ?? "60m");
  const num = (f: string, fallback: number, ok: (n: number) => boolean, what: string) => {
    const t = text(f);
    if (t === undefined) return fallback;
    const n = Number(t);
    if (t.trim() === "" || !ok(n))
      throw new UsageError(`--${f} must be ${what}, got ${JSON.stringify(t)}`);
    return n;
  };
  const positiveInt = (n: number) => Number.isSafeInteger(n) && n >= 1;
  const driftWarn = num("drift-warn", 0.25, (n) => n > 0, "a PSI > 0");
  const driftRetrain = num("drift-retrain", 0.5, (n) => n > 0, "a PSI > 0");
  if (driftRetrain < driftWarn)
    throw new UsageError(
      `--drift-retrain (${driftRetrain}) must be at least --drift-warn (${driftWarn})`,
    );
  const benign = text("benign");
  return {
    dir: resolve(text("learn-dir") ?? join(dirname(model), "learned")),
    ...every,
    guardHosts: num("guard-hosts", 3, positiveInt, "an integer ≥ 1"),
    guardMinutes: num("guard-minutes", 30, (n) => n >= 0 && Number.isFinite(n), "minutes ≥ 0"),
    guardRate: num("guard-rate", 50, positiveInt, "an integer ≥ 1"),
    benign: benign === undefined ? undefined : resolve(benign),
    driftWarn,
    driftRetrain,
    fitWorkers: workersFlag("fit-workers", text("fit-workers"), MAX_FIT_WORKERS),
  };
}

/** `N` events, `Nm` minutes or `Nh` hours. */
function parseEvery(t: string): { everyEvents: number | undefined; everyMs: number | undefined } {
  const m = /^(\d+)(m|h)?$/.exec(t.trim());
  const n = m === null ? Number.NaN : Number(m[1]);
  if (m === null || !(n >= 1) || !Number.isSafeInteger(n)) {
    throw new UsageError(
      `--retrain-every must be N events, Nm minutes or Nh hours (N ≥ 1), got ${JSON.stringify(t)}`,
    );
  }
  if (m[2] === undefined) return { everyEvents: n, everyMs: undefined };
  return { everyEvents: undefined, everyMs: n * (m[2] === "h" ? 3_600_000 : 60_000) };
}
