import { describe, expect, it } from "vitest";
import { collectEvents } from "./collect-events.js";
import { readLabels, withLabels } from "./labels.js";
import type { SourceProblem } from "./source.js";
import { zeekSource } from "./zeek/zeek.js";

const data = (name: string) => new URL(`./testdata/${name}`, import.meta.url).pathname;
const LABELS = data("zeek-labels.csv");

async function toArray<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

function context() {
  const skips: SourceProblem[] = [];
  return {
    skips,
    ctx: {
      signal: new AbortController().signal,
      onSkip: (p: SourceProblem) => skips.push(p),
      onNotice: () => {},
    },
  };
}

describe("readLabels()", () => {
  it("reads key,label lines, skipping the header, comments and bad lines", async () => {
    const { ctx, skips } = context();
    const table = await readLabels(LABELS, ctx);
    expect(table.size).toBe(4);
    expect(table.get("CweB2bbbbbbbbbbbb2")).toBe("c2_beacon");
    expect(table.get("CicmP3cccccccccccc3")).toBe("normal");
    expect(table.get("Crot66ffffffffffff6")).toBe("attack");
    expect(table.get("Cv6xx4ddddddddddd4")).toBeUndefined();
    expect(skips).toEqual([
      { where: `${LABELS}:6`, message: "not a key,label line" },
      {
        where: `${LABELS}:7`,
        message:
          "CweB2bbbbbbbbbbbb2 is labelled c2_beacon on line 3 and normal here; keeping c2_beacon",
      },
    ]);
  });

  it("throws naming a missing file", async () => {
    await expect(readLabels(data("no-such-labels.csv"), context().ctx)).rejects.toThrow(
      /no-such-labels\.csv does not exist/,
    );
  });
});

describe("withLabels()", () => {
  it("labels a reader's events by key, the unlisted as told, and says which keys went unused", async () => {
    const table = await readLabels(LABELS, context().ctx);
    const { ctx } = context();
    const labelled = await toArray(
      withLabels(zeekSource.open({ input: data("zeek-conn.log") }, ctx), table, {
        unlisted: "normal",
      }),
    );
    expect(labelled.map((e) => `${e.key}=${e.label}`)).toEqual([
      "CdnsQ1aaaaaaaaaaa1=normal",
      "CweB2bbbbbbbbbbbb2=c2_beacon",
      "CicmP3cccccccccccc3=normal",
      "Cv6xx4ddddddddddd4=normal",
      "Crot66ffffffffffff6=attack",
    ]);
    expect(table.unmatched()).toEqual(["CnotInTheLog000000"]);
  });

  it("leaves unlisted events unlabelled by default", async () => {
    const table = await readLabels(LABELS, context().ctx);
    const { events } = await collectEvents(zeekSource, { input: data("zeek-conn.log") });
    async function* replay() {
      yield* events;
    }
    const labelled = await toArray(withLabels(replay(), table));
    expect(labelled.map((e) => e.label)).toEqual([
      undefined,
      "c2_beacon",
      "normal",
      undefined,
      "attack",
    ]);
  });
});
