/**
 * Lookalike domains: a registrable domain never seen in training that
 * imitates one that was, such as `update-microsoft.com` or
 * `rnicrosoft.com` beside `microsoft.com`. Typo-squatting and brand
 * hyphenation are how phishing and malware hide behind familiar services.
 */

/** Brand labels shorter than this are too generic to match inside another name. */
const MIN_BRAND = 5;
/** Most edits between two labels that still count as one imitating the other. */
const MAX_EDITS = 2;

/** Names whose verdict is remembered. */
const MAX_CACHED = 50_000;

/** Characters that stand in for letters in lookalikes: `micros0ft`, `rnicrosoft`. */
const HOMOGLYPHS: [RegExp, string][] = [
  [/rn/g, "m"],
  [/vv/g, "w"],
  [/0/g, "o"],
  [/1/g, "l"],
  [/3/g, "e"],
  [/5/g, "s"],
];

/**
 * The registrable part of a host name, approximated as its last two labels
 * (three when the second-level label is a public suffix such as `co.uk`).
 *
 * @returns the registrable domain, or "" for an IP address or empty name.
 */
export function registrableDomain(name: string): string {
  const host = name.toLowerCase().replace(/\.$/, "");
  if (host === "" || /^[\d.]+$/.test(host) || host.includes(":")) return "";
  const labels = host.split(".");
  if (labels.length <= 2) return host;
  const second = labels[labels.length - 2] as string;
  const take = second.length <= 3 && /^(co|com|net|org|gov|ac|edu)$/.test(second) ? 3 : 2;
  return labels.slice(-take).join(".");
}

/** A checker built from the domains seen in training. */
export interface LookalikeChecker {
  /**
   * @returns 1 when `name`'s registrable domain is unseen and imitates a
   *   seen one (shares a brand label, or is within two edits of one after
   *   undoing homoglyphs), else 0.
   */
  score(name: string): number;
}

/**
 * Builds a lookalike checker from the host names seen in training.
 */
export function createLookalikeChecker(seen: Iterable<string>): LookalikeChecker {
  const known = new Set<string>();
  const brands = new Set<string>();
  for (const name of seen) {
    const r = registrableDomain(name);
    if (r === "" || r.endsWith(".local") || r.endsWith(".lab")) continue;
    known.add(r);
    const label = r.split(".")[0] as string;
    if (label.length >= MIN_BRAND) brands.add(label);
  }
  const brandList = [...brands];
  const cache = new Map<string, number>();
  const judge = (r: string): number => {
    if (r === "" || known.has(r)) return 0;
    const label = r.split(".")[0] as string;
    for (const token of label.split(/[-_]/)) if (brands.has(token)) return 1;
    let plain = label;
    for (const [glyph, letter] of HOMOGLYPHS) plain = plain.replace(glyph, letter);
    if (plain !== label && brands.has(plain)) return 1;
    if (plain.length < MIN_BRAND) return 0;
    for (const brand of brandList) {
      if (Math.abs(brand.length - plain.length) > MAX_EDITS) continue;
      if (editDistance(plain, brand, MAX_EDITS) <= MAX_EDITS) return 1;
    }
    return 0;
  };
  return {
    score(name: string): number {
      let v = cache.get(name);
      if (v === undefined) {
        v = judge(registrableDomain(name));
        // Bounded: a flood of unique names costs a re-judge, never memory.
        if (cache.size >= MAX_CACHED) cache.clear();
        cache.set(name, v);
      }
      return v;
    },
  };
}

/**
 * Damerau–Levenshtein distance (adjacent swaps count once), stopping early
 * once every path exceeds `bound`.
 *
 * @returns the distance, or a number above `bound`.
 */
export function editDistance(a: string, b: string, bound: number): number {
  const n = a.length;
  const m = b.length;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, (prev2[j - 2] as number) + 1);
      cur[j] = v;
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > bound) return bound + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m] as number;
}
