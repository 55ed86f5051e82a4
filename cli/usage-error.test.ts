import { parseArgs } from "node:util";
import { describe, expect, it } from "vitest";
import { asUsageError, UsageError } from "./usage-error.js";

/** What parseArgs' error for `args` becomes. */
function usageMessage(args: string[]): string {
  try {
    parseArgs({
      args,
      options: { model: { type: "string", short: "m" }, json: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    const mapped = asUsageError(e);
    expect(mapped).toBeInstanceOf(UsageError);
    return (mapped as UsageError).message;
  }
  throw new Error(`parseArgs took ${args.join(" ")}`);
}

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
