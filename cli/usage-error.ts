/**
 * Command-line mistakes, worded one way for every command (server, agent,
 * train, evaluate).
 */
import { availableParallelism } from "node:os";
import { type ParseArgsConfig, parseArgs } from "node:util";

/** A bad flag or environment value: the command prints the message on one line and exits 2. */
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
 * Parses a count of worker threads: an integer in [1, max], or `auto` for
 * one per core (`os.availableParallelism()`).
 *
 * @throws UsageError '--flag must be an integer in [1, max] or "auto", got x'.
 */
export function workersFlag(
  flag: string,
  text: string | undefined,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  if (text === "auto") return availableParallelism();
  const n = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`--${flag} must be an integer in [1, ${max}] or "auto", got ${text}`);
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

/** parseArgs' messages (their first line) and what we say instead; `$1` is the flag or argument. */
const SHORT_MESSAGES: [RegExp, string][] = [
  [/^Unknown option '([^']*)'/, "unknown flag $1"],
  [/^Option '(?:-\w, )?(-[^ ']*) <value>' argument missing/, "$1 needs a value"],
  [/^Option '(?:-\w, )?(-[^ ']*)' does not take an argument/, "$1 takes no value"],
  [
    /^Option '(?:-\w, )?(-[^ ']*)' argument is ambiguous/,
    "$1 needs a value (one that starts with a dash goes as $1=-x)",
  ],
  [/^Unexpected argument '([^']*)'/, "unexpected argument $1"],
];

/**
 * Turns `node:util` parseArgs' own errors into a `UsageError` with a short
 * message: "unknown flag --x", "--x needs a value", "--x takes no value",
 * "unexpected argument x". Anything else is returned as it is.
 */
export function asUsageError(e: unknown): unknown {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) {
    return e;
  }
  const message = (e as Error).message.split("\n")[0] ?? "";
  for (const [pattern, short] of SHORT_MESSAGES) {
    const m = pattern.exec(message);
    if (m) {
      return new UsageError(short.replaceAll("$1", () => m[1] as string));
    }
  }
  return new UsageError(message.replace(/\.$/, ""));
}

/** Flag values as {@link parseFlags} returns them: a string or boolean per flag given. */
export type FlagValues = Record<string, string | boolean | undefined>;

/**
 * Parses `argv` against `options`, strictly: every flag must be known and
 * positional arguments are refused.
 *
 * @throws UsageError for a mistake, worded as by {@link asUsageError}.
 */
export function parseFlags(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): FlagValues {
  // A string flag followed by a negative number takes it as its value, so
  // "--count -3" is judged by the flag's own rule ("must be >= 0, got -3")
  // instead of reading as a missing value.
  const args = argv.map((arg, i) => {
    const prev = argv[i - 1];
    const flag = prev?.startsWith("--") ? options[prev.slice(2)] : undefined;
    return flag?.type === "string" && /^-\d/.test(arg) && !prev?.includes("=") ? `=${arg}` : arg;
  });
  const joined: string[] = [];
  for (const arg of args) {
    if (arg.startsWith("=-") && joined.length > 0) joined[joined.length - 1] += arg;
    else joined.push(arg);
  }
  try {
    return parseArgs({ args: joined, options, strict: true, allowPositionals: false })
      .values as FlagValues;
  } catch (e) {
    throw asUsageError(e);
  }
}
