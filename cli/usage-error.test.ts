import { describe, expect, it } from "vitest";
import { asUsageError, parseFlags, UsageError } from "./usage-error.js";

const OPTIONS = { model: { type: "string", short: "m" }, json: { type: "boolean" } } as const;

/** The UsageError parseFlags throws for `args`. */
function usageMessage(args: string[]): string {
  try {
    parseFlags(args, OPTIONS);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as UsageError).message;
  }
  throw new Error(`parseFlags took ${args.join(" ")}`);
}

describe("parseFlags()", () => {
  it("returns the flags given, by long name", () => {
    expect(parseFlags(["-m", "a.json", "--json"], OPTIONS)).toEqual({
      model: "a.json",
      json: true,
    });
    expect(parseFlags(["--model=-x"], OPTIONS)).toEqual({ model: "-x" });
    expect(parseFlags([], OPTIONS)).toEqual({});
  });
});

describe("asUsageError()", () => {
  it("words parseArgs' errors one short way, naming the flag", () => {
    expect(usageMessage(["--bogus"])).toBe("unknown flag --bogus");
    expect(usageMessage(["--model"])).toBe("--model needs a value");
    expect(usageMessage(["-m"])).toBe("--model needs a value");
    expect(usageMessage(["--json=yes"])).toBe("--json takes no value");
    expect(usageMessage(["extra"])).toBe("unexpected argument extra");
    expect(usageMessage(["--model", "--json"])).toBe(
      "--model needs a value (one that starts with a dash goes as --model=-x)",
    );
  });

  it("passes other errors through untouched", () => {
    const other = new Error("disk full");
    expect(asUsageError(other)).toBe(other);
  });
});
