/**
 * A seeded pseudo-random generator: xoshiro128** (Blackman & Vigna 2018),
 * seeded through splitmix32. All randomness in detector/ and trainer/ goes
 * through one of these, so the same seed gives the same model, byte for byte.
 */
export interface Random {
  /** A double in [0, 1) with 32 bits of randomness. */
  next(): number;
  /** An integer in [0, n) for 0 < n ≤ 2^32. */
  int(n: number): number;
}

/**
 * Creates a generator from a seed.
 *
 * @param seed any integer in [0, 2^53); different seeds give unrelated streams.
 */
export function createRandom(seed: number): Random {
  const { next, int } = createReseedableRandom(seed);
  return { next, int };
}

/** A {@link Random} that can start over from another seed. */
export interface ReseedableRandom extends Random {
  /** Continues as `createRandom(seed)` would start. */
  reseed(seed: number): void;
}

/**
 * One generator for many seeds: after `reseed(s)` it gives what
 * `createRandom(s)` gives. For code that draws from a new seed often (a
 * seed per tree): one object, so its hot call sites see one function.
 */
export function createReseedableRandom(seed: number): ReseedableRandom {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const reseed = (s: number) => {
    checkSeed(s);
    // splitmix32 over both halves of the seed fills the 128-bit state.
    let sm = (s >>> 0) ^ Math.imul(Math.floor(s / 2 ** 32) >>> 0, 0x9e3779b9);
    const splitmix = () => {
      sm = (sm + 0x9e3779b9) | 0;
      let z = sm;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    a = splitmix();
    b = splitmix();
    c = splitmix();
    d = splitmix();
    if ((a | b | c | d) === 0) a = 1;
  };
  reseed(seed);
  const nextUint32 = () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  return {
    next: () => nextUint32() / 2 ** 32,
    int: (n) => Math.floor((nextUint32() / 2 ** 32) * n),
    reseed,
  };
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be an integer in [0, 2^53), got ${seed}`);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
