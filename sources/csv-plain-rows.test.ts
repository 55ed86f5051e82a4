import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plainCsvRows } from "./csv-plain-rows.js";
import { type CsvRow, type CsvSkip, readCsvRows } from "./csv-rows.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "netanomaly-plain-csv-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Everything a reader reports, in order: headers, rows and skips. */
async function trace(
  read: (
    path: string,
    o: Parameters<typeof readCsvRows>[1],
  ) => AsyncIterable<CsvRow> | Promise<AsyncIterable<CsvRow>>,
  path: string,
): Promise<unknown[]> {
  const seen: unknown[] = [];
  const o = {
    onHeader: (h: readonly string[]) => seen.push({ header: [...h] }),
    onSkip: (s: CsvSkip) => seen.push({ skip: s }),
  };
  for await (const row of await read(path, o)) seen.push(row);
  return seen;
}

async function plain(path: string, o: Parameters<typeof readCsvRows>[1]) {
  const rows = await plainCsvRows(path, o);
  if (rows === undefined) throw new Error(`plainCsvRows declined ${path}`);
  return rows;
}

describe("plainCsvRows()", () => {
  it("reports what readCsvRows reports for data/telemetry.csv", async () => {
    const path = join(import.meta.dirname, "../data/telemetry.csv");
    const ours = await trace(plain, path);
    expect(ours.length).toBeGreaterThan(20_000);
    expect(ours).toEqual(await trace(readCsvRows, path));
  });

  const cases: Record<string, string> = {
    "blank lines, CRLF and no final newline": "\n\r\na, b ,c\r\n1,2,3\n\n4,5,6\r\n\r\n7, 8 ,9",
    "a BOM and short, long and blank-ish rows": "\uFEFFa,b,c\n1,2\n1,2,3,4\n \n,,\n x,y,z \n",
    "UTF-8": "a,b\nü,日本\r\n1,2",
    "only a header": "a,b\n",
    "nothing at all": "",
    "a quote, from where csv-parse takes over": 'a,b\n1,2\n3\n"x\ny",4\n5,6\n7\n',
    "a quote in the header": 'a,"b"\n1,2\n',
    "a lone carriage return": "a,b\n1,2\n3\n1\r,2\n5,6\n",
    "a carriage return at the very end": "a,b\n1,2\n1,2\r",
    "a header with an empty name": "a,,b\n1,2,3\n1,2\n",
    "a header with a repeated name": "a,b,a\n1,2,3\n",
    "rows that span chunks": `a,b\n${Array.from({ length: 30_000 }, (_, i) => `${i},é${"x".repeat(i % 97)}`).join("\n")}\n`,
  };
  for (const [name, text] of Object.entries(cases)) {
    it(`reports what readCsvRows reports for ${name}`, async () => {
      const path = join(dir, `${name.replace(/\W+/g, "-")}.csv`);
      await writeFile(path, text);
      expect(await trace(plain, path)).toEqual(await trace(readCsvRows, path));
    });
  }

  it("declines what is not a regular file", async () => {
    expect(await plainCsvRows(join(dir, "missing.csv"), { onSkip: () => {} })).toBeUndefined();
    expect(await plainCsvRows(dir, { onSkip: () => {} })).toBeUndefined();
  });
});
