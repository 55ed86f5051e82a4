/**
 * A small, fast, seeded pseudo-random generator for the telemetry simulator:
 * xoshiro128** (Blackman & Vigna 2018) seeded through splitmix32, so equal
 * seeds give equal streams on every platform. Not for cryptography.
 *
 * @see https://prng.di.unimi.it/xoshiro128starstar.c
 */
export interface SimRandom {
  /** Uniform double in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  /** Uniform double in [lo, hi). */
  range(lo: number, hi: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** Standard normal deviate (Box–Muller). */
  normal(): number;
  /** Log-normal deviate whose median is `median` and log-sd is `sigma`. */
  logNormal(median: number, sigma: number): number;
  /** Log-uniform deviate in [lo, hi). */
  logUniform(lo: number, hi: number): number;
  /** Exponential deviate with the given mean. */
  exponential(mean: number): number;
  /** A string of `n` lowercase hex digits. */
  hex(n: number): string;
}

const TWO_32 = 4294967296;
const HEX = "0123456789abcdef";

/** splitmix32 step: returns the next 32-bit output for state `s`. */
function splitmix32(s: number): number {
  let z = s | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Creates a seeded generator.
 *
 * @param seed any integer; only its low 32 bits matter.
 */
export function createSimRandom(seed: number): SimRandom {
  let x = seed | 0;
  const seedWord = () => {
    x = (x + 0x9e3779b9) | 0;
    return splitmix32(x);
  };
  let s0 = seedWord();
  let s1 = seedWord();
  let s2 = seedWord();
  let s3 = seedWord();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const next = () => nextU32() / TWO_32;
  const normal = () => {
    // 1 - u keeps the log argument in (0, 1].
    const u = 1 - next();
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    range: (lo, hi) => lo + next() * (hi - lo),
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    normal,
    logNormal: (median, sigma) => median * Math.exp(sigma * normal()),
    logUniform: (lo, hi) => lo * Math.exp(next() * Math.log(hi / lo)),
    exponential: (mean) => -Math.log(1 - next()) * mean,
    hex: (n) => {
      let s = "";
      for (let i = 0; i < n; i++) s += HEX[nextU32() & 15];
      return s;
    },
  };
}

function rotl(v: number, k: number): number {
  return (v << k) | (v >>> (32 - k));
}

/**
 * A stable 32-bit FNV-1a hash of a string, for deriving per-name constants
 * (process hashes, IP addresses) that don't depend on generation order.
 */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** 12 hex digits derived from a name, in the style of the seed CSV's process hashes. */
export function stableHash12(name: string): string {
  const a = splitmix32(hashString(name)).toString(16).padStart(8, "0");
  const b = splitmix32(hashString(`${name}#`))
    .toString(16)
    .padStart(8, "0");
  return (a + b).slice(0, 12);
}
