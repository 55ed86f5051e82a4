const NEGATIVE = new Set(["", "0", "false", "normal"]);

/**
 * Reads a label cell: `0` (or `0.0`), `false`, `normal` (any case) and empty are
 * negative; anything else (`1`, `true`, `attack`, an attack name such as
 * NSL-KDD's `neptune`) is positive.
 *
 * @returns 1 for positive, 0 for negative.
 */
export function labelValue(cell: string | undefined): 0 | 1 {
  const text = (cell ?? "").trim().toLowerCase();
  return NEGATIVE.has(text) || Number(text) === 0 ? 0 : 1;
}
