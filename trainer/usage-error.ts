/** A bad command line: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parses an integer flag value.
 *
 * @throws UsageError "--flag must be an integer in [min, max], got x".
 */
export function intFlag(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer in [${min}, ${max}], got ${text}`);
  }
  return n;
}

/**
 * Checks a flag whose value must be one of a few words.
 *
 * @throws UsageError "--flag must be one of a|b, got x".
 */
export function choiceFlag<T extends string>(
  flag: string,
  text: string | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`--${flag} must be one of ${choices.join("|")}, got ${text}`);
  }
  return text as T;
}

/**
 * Turns `node:util` parseArgs' own errors (unknown flag, missing value) into
 * a `UsageError` with a short message.
 */
export function asUsageError(e: unknown): unknown {
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
    const message = ((e as Error).message.split("\n")[0] ?? "").replace(/\.$/, "");
    return new UsageError(message.replace(/^Unknown option '(.*)'$/, "unknown flag $1"));
  }
  return e;
}
