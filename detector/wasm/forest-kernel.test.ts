import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { assembleForestKernel, bytesModuleText } from "./build-forest-kernel.js";

describe("forest kernel build", () => {
  it("committed WAT and bytes match what npm run build:kernel produces", async () => {
    const { wat, wasm } = await assembleForestKernel();
    const committedWat = await readFile(new URL("./forest-kernel.wat", import.meta.url), "utf8");
    const committedBytes = await readFile(
      new URL("./forest-kernel-bytes.ts", import.meta.url),
      "utf8",
    );
    expect(committedWat).toBe(wat);
    expect(committedBytes).toBe(bytesModuleText(wasm));
  });
});
