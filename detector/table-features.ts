/**
 * Features for plain tabular data (for example the NSL-KDD benchmark): numeric
 * columns as they are, categorical columns one-hot encoded over the
 * categories seen in training (an unseen category is all zeros).
 */
export interface TableFeatureSpec {
  kind: "table";
  /** Name of the input format, for messages (for example "nsl-kdd"). */
  format: string;
  columns: TableColumn[];
  /** Feature names, in the order the forest sees them. */
  features: string[];
}

/** One input column: numeric, or categorical with its training categories. */
export type TableColumn =
  | { name: string; type: "numeric" }
  | { name: string; type: "onehot"; categories: string[] };

/**
 * Builds a spec from column roles and training records.
 *
 * @param numeric names of numeric columns, kept in this order.
 * @param onehot names of categorical columns, one-hot encoded after the numeric ones.
 */
export function fitTableFeatures(
  format: string,
  numeric: readonly string[],
  onehot: readonly string[],
  records: Iterable<Readonly<Record<string, string>>>,
): TableFeatureSpec {
  const seen = onehot.map(() => new Set<string>());
  for (const record of records) {
    onehot.forEach((name, i) => {
      seen[i]?.add(record[name] ?? "");
    });
  }
  const columns: TableColumn[] = [
    ...numeric.map((name) => ({ name, type: "numeric" as const })),
    ...onehot.map((name, i) => ({
      name,
      type: "onehot" as const,
      categories: [...(seen[i] ?? [])].sort(),
    })),
  ];
  return { kind: "table", format, columns, features: tableFeatureNames(columns) };
}

/** Feature names of a column list: the numeric name, or `name=category`. */
export function tableFeatureNames(columns: readonly TableColumn[]): string[] {
  return columns.flatMap((c) =>
    c.type === "numeric" ? [c.name] : c.categories.map((v) => `${c.name}=${v}`),
  );
}

/**
 * Writes one record's features into `out` at `offset`.
 *
 * @throws RangeError naming the column when a numeric cell is not a finite number.
 */
export function featurizeTableRecord(
  spec: TableFeatureSpec,
  record: Readonly<Record<string, string>>,
  out: Float64Array,
  offset = 0,
): void {
  let o = offset;
  for (const c of spec.columns) {
    const cell = record[c.name] ?? "";
    if (c.type === "numeric") {
      const v = Number(cell);
      if (cell.trim() === "" || !Number.isFinite(v)) {
        throw new RangeError(
          `column ${c.name}: ${JSON.stringify(cell.slice(0, 64))} is not a finite number`,
        );
      }
      out[o++] = v;
    } else {
      for (const category of c.categories) out[o++] = cell === category ? 1 : 0;
    }
  }
}
