import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectEvents } from "./collect-events.js";
import { sourceNamed } from "./registry.js";

const data = (name: string) => new URL(`./testdata/${name}`, import.meta.url).pathname;

const CASES: [file: string, wrong: string, right: string][] = [
  ["zeek-conn.log", "suricata", "zeek"],
  ["zeek-conn.log", "sysmon", "zeek"],
  ["zeek-conn.ndjson", "osquery", "zeek"],
  ["suricata-eve.ndjson", "zeek", "suricata"],
  ["suricata-eve.ndjson", "sysmon", "suricata"],
  ["sysmon-winlogbeat.ndjson", "osquery", "sysmon"],
  ["sysmon-events.xml", "zeek", "sysmon"],
  ["osquery-results.ndjson", "sysmon", "osquery"],
  ["osquery-results.ndjson", "suricata", "osquery"],
];

describe("a log read with the wrong --source", () => {
  for (const [file, wrong, right] of CASES) {
    it(`names ${file} and the format it looks like when read as ${wrong}`, async () => {
      const source = sourceNamed(wrong);
      if (source === undefined) throw new Error(`no source ${wrong}`);
      await expect(collectEvents(source, { input: data(file) })).rejects.toThrow(
        new RegExp(`^${data(file)} looks like .*, not ${wrong} input: .*; try --source ${right}$`),
      );
    });
  }
});

describe("binary garbage", () => {
  it("is skipped line by line, counted, and the good lines around it are read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "garbage-"));
    try {
      const eve = (await import("node:fs/promises")).readFile(data("suricata-eve.ndjson"));
      const good = (await eve).toString("latin1").split("\n").slice(0, 8);
      const garbage = Buffer.alloc(4096);
      for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 256;
      const file = join(dir, "eve.json");
      await writeFile(
        file,
        Buffer.concat([
          Buffer.from(`${good.slice(0, 4).join("\n")}\n`),
          garbage,
          Buffer.from(`\n${good.slice(4).join("\n")}\n`),
        ]),
      );
      const suricata = sourceNamed("suricata");
      if (suricata === undefined) throw new Error("no suricata source");
      const { events, skips } = await collectEvents(suricata, { input: file });
      expect(events.map((e) => e.key)).toEqual(["1001", "1002", "1003", "1004"]);
      expect(skips.length).toBeGreaterThan(0);
      for (const s of skips) expect(s.where).toMatch(new RegExp(`^${file}:\\d+$`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("alone in a file is skipped without an error about another format", async () => {
    const dir = await mkdtemp(join(tmpdir(), "garbage-"));
    try {
      const file = join(dir, "noise.log");
      const lines = Array.from({ length: 20 }, (_, i) => `\u0001\u00ff noise ${i} \u0007`);
      await writeFile(file, `${lines.join("\n")}\n`);
      for (const name of ["zeek", "suricata", "sysmon", "osquery"]) {
        const source = sourceNamed(name);
        if (source === undefined) throw new Error(`no source ${name}`);
        const { events, skips } = await collectEvents(source, { input: file });
        expect(events).toEqual([]);
        expect(skips).toHaveLength(20);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
