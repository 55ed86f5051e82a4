import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectEvents } from "../sources/collect-events.js";
import { sourceNamed } from "../sources/registry.js";
import { connLogLines, eveLines, osqueryLines, sysmonLines } from "./log-fixtures.js";

describe("log-fixtures", () => {
  it("generates logs each reader reads without a skip, joins filled", async () => {
    const dir = await mkdtemp(join(tmpdir(), "log-fixtures-"));
    try {
      const cases = [
        ["zeek", connLogLines, 1000],
        ["suricata", eveLines, 700],
        ["sysmon", sysmonLines, 700],
        ["osquery", osqueryLines, 900],
      ] as const;
      for (const [name, make, events] of cases) {
        const file = join(dir, `${name}.log`);
        await writeFile(file, `${make(1000).join("\n")}\n`);
        const source = sourceNamed(name);
        if (source === undefined) throw new Error(`no source ${name}`);
        const got = await collectEvents(source, { input: file });
        expect(got.skips, name).toEqual([]);
        expect(got.events, name).toHaveLength(events);
        if (name === "suricata" || name === "sysmon")
          expect(
            got.events.some((e) => e.event.destDomain !== ""),
            name,
          ).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
