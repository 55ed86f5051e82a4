import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "csv-parse/sync";

/** The NSL-KDD files the benchmark reads, under ../shared/data/nsl-kdd. */
export const NSL_KDD_TRAIN = "KDDTrain+_20Percent.txt";
export const NSL_KDD_TEST = "KDDTest+.txt";

/** NSL-KDD rows with their original text lines, and the column layout. */
export interface NslKddData {
  /** Feature column names from field_names.csv, then label and difficulty. */
  columns: string[];
  /** The 38 numeric ("continuous") feature columns, in file order. */
  numeric: string[];
  train: { records: Record<string, string>[]; lines: string[] };
  test: { records: Record<string, string>[]; lines: string[] };
}

/**
 * Reads the dataset. The layout comes from the dataset's own
 * `field_names.csv`, independently of the trainer's built-in column list, so
 * the cross-check in the benchmark also checks that list.
 */
export async function readNslKdd(dir: string): Promise<NslKddData> {
  const fields = (await readFile(join(dir, "field_names.csv"), "utf8"))
    .trim()
    .split(/\r?\n/)
    .map((l) => l.split(",").map((c) => c.trim()));
  const columns = [...fields.map(([name]) => name as string), "label", "difficulty"];
  const numeric = fields
    .filter(([, type]) => type === "continuous")
    .map(([name]) => name as string);
  const read = async (name: string) => {
    const text = await readFile(join(dir, name), "utf8");
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
    const records = parse(text, { columns, skip_empty_lines: true }) as Record<string, string>[];
    if (records.length !== lines.length)
      throw new Error(`${name}: ${records.length} records but ${lines.length} lines`);
    return { records, lines };
  };
  return { columns, numeric, train: await read(NSL_KDD_TRAIN), test: await read(NSL_KDD_TEST) };
}

/** Attack = positive: every label but `normal`. */
export function isAttack(record: Readonly<Record<string, string>>): boolean {
  return (record.label ?? "").trim() !== "normal";
}
