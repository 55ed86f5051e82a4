/** Median and spread of repeated measurements. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Every run, in the order measured. */
  runs: number[];
}

/** Summarizes repeated runs of one measurement. */
export function summarize(runs: readonly number[]): Summary {
  if (runs.length === 0) throw new RangeError("no runs to summarize");
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    median,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    runs: [...runs],
  };
}

/** Items per second over repeated runs, by wall clock and by this process's CPU time. */
export interface Rates {
  wall: Summary;
  /** Items per CPU-second (user + system): less sensitive to other load on a shared machine. */
  cpu: Summary;
}

/**
 * Runs `f` once to warm up (V8 tiers code up), then `repeats` times, timing
 * each run by wall clock and by process CPU time.
 * @param items work items one run of `f` handles.
 */
export function timeRuns(repeats: number, items: number, f: () => void): Rates {
  f();
  const runs: RateRuns = { wall: [], cpu: [] };
  for (let i = 0; i < repeats; i++) push(runs, timeOnce(items, f));
  return summarizeRates(runs);
}

/** Rates of one run of `f`: items per wall-clock second and per CPU second. */
function timeOnce(items: number, f: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const seconds = wallSeconds(f);
  const c = process.cpuUsage(c0);
  return { wall: items / seconds, cpu: items / ((c.user + c.system) / 1e6) };
}

type RateRuns = { wall: number[]; cpu: number[] };

function push(runs: RateRuns, r: { wall: number; cpu: number }): void {
  runs.wall.push(r.wall);
  runs.cpu.push(r.cpu);
}

function summarizeRates(runs: RateRuns): Rates {
  return { wall: summarize(runs.wall), cpu: summarize(runs.cpu) };
}

/** Our rates and theirs from runs taken in turn, and their ratio run by run. */
export interface PairedRates {
  ours: Rates;
  theirs: Rates;
  /** ours ÷ theirs of each pair of neighbouring runs. */
  ratio: Rates;
}

/**
 * Times `f` in this process and `theirs` (a run elsewhere that reports its
 * own rates) in turn: one warm-up each, then `repeats` pairs, so both sides
 * meet the same spells of a shared machine and each pair gives a ratio.
 * Only one side runs at a time.
 * @param items work items one run of `f` handles.
 */
export async function timePairs(
  repeats: number,
  items: number,
  f: () => void,
  theirs: () => Promise<{ wall: number; cpu: number }>,
): Promise<PairedRates> {
  f();
  await theirs();
  const ours: RateRuns = { wall: [], cpu: [] };
  const other: RateRuns = { wall: [], cpu: [] };
  for (let i = 0; i < repeats; i++) {
    push(ours, timeOnce(items, f));
    push(other, await theirs());
  }
  const ratio = (k: "wall" | "cpu"): number[] => ours[k].map((x, i) => x / (other[k][i] as number));
  return {
    ours: summarizeRates(ours),
    theirs: summarizeRates(other),
    ratio: summarizeRates({ wall: ratio("wall"), cpu: ratio("cpu") }),
  };
}

/** The same rates as microseconds per item. */
export function micros(r: Rates): Rates {
  const inv = (s: Summary): Summary => summarize(s.runs.map((x) => 1e6 / x));
  return { wall: inv(r.wall), cpu: inv(r.cpu) };
}

/** Seconds of wall time `f` takes. */
export function wallSeconds(f: () => void): number {
  const start = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Formats a rate or count with k/M suffixes, 3 significant digits. */
export function si(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(x / 1e3).toPrecision(3)}k`;
  if (a >= 100) return x.toFixed(0);
  return x.toPrecision(3);
}

/** "median (min–max)" with `si` formatting. */
export function spread(s: Summary, format: (x: number) => string = si): string {
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}
