import { describe, expect, it } from "vitest";
import { TimeoutError, within } from "./bounded.js";

describe("within()", () => {
  it("passes a value that arrives in time through", async () => {
    await expect(within(Promise.resolve(7), 1_000, "x")).resolves.toBe(7);
  });

  it("passes a failure that arrives in time through, unchanged", async () => {
    const e = new Error("refused");
    await expect(within(Promise.reject(e), 1_000, "x")).rejects.toBe(e);
  });

  it("rejects with a TimeoutError naming the call when nothing arrives", async () => {
    const never = new Promise<number>(() => {});
    const err = await within(never, 20, "closing the consumer").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe("closing the consumer did not answer in 20 ms");
  });

  it("ignores a late failure of work it gave up on (no unhandled rejection)", async () => {
    let fail: (e: Error) => void = () => {};
    const late = new Promise<number>((_, reject) => {
      fail = reject;
    });
    await expect(within(late, 10, "send")).rejects.toBeInstanceOf(TimeoutError);
    fail(new Error("too late"));
    await new Promise((r) => setTimeout(r, 10));
  });
});
