/**
 * The NSL-KDD layout (Tavallaee et al. 2009): no header, 41 features, then
 * the label (`normal` or an attack name), then a difficulty level. Kept here
 * rather than read from the dataset's `field_names.csv`, so the trainer works
 * without the dataset directory.
 *
 * @see https://www.unb.ca/cic/datasets/nsl.html
 */
export const NSL_KDD_FEATURE_COLUMNS = [
  "duration",
  "protocol_type",
  "service",
  "flag",
  "src_bytes",
  "dst_bytes",
  "land",
  "wrong_fragment",
  "urgent",
  "hot",
  "num_failed_logins",
  "logged_in",
  "num_compromised",
  "root_shell",
  "su_attempted",
  "num_root",
  "num_file_creations",
  "num_shells",
  "num_access_files",
  "num_outbound_cmds",
  "is_host_login",
  "is_guest_login",
  "count",
  "srv_count",
  "serror_rate",
  "srv_serror_rate",
  "rerror_rate",
  "srv_rerror_rate",
  "same_srv_rate",
  "diff_srv_rate",
  "srv_diff_host_rate",
  "dst_host_count",
  "dst_host_srv_count",
  "dst_host_same_srv_rate",
  "dst_host_diff_srv_rate",
  "dst_host_same_src_port_rate",
  "dst_host_srv_diff_host_rate",
  "dst_host_serror_rate",
  "dst_host_srv_serror_rate",
  "dst_host_rerror_rate",
  "dst_host_srv_rerror_rate",
] as const;

/** Every column of a row: the 41 features, `label`, `difficulty`. */
export const NSL_KDD_COLUMNS: readonly string[] = [
  ...NSL_KDD_FEATURE_COLUMNS,
  "label",
  "difficulty",
];

/** The symbolic feature columns; the other 38 are numeric. */
export const NSL_KDD_SYMBOLIC = ["protocol_type", "service", "flag"] as const;

/** The 38 numeric feature columns (N38), in file order. */
export const NSL_KDD_NUMERIC: readonly string[] = NSL_KDD_FEATURE_COLUMNS.filter(
  (c) => !(NSL_KDD_SYMBOLIC as readonly string[]).includes(c),
);

/**
 * Feature sets: `n38` is the 38 numeric columns; `n38oh` adds one-hot
 * `protocol_type` (3 values) and `flag` (11 values), as in the usual
 * unsupervised NSL-KDD baselines; `all` uses every column, `service` (70
 * values) one-hot too. Categories come from the training rows; one unseen
 * in training encodes as all zeros.
 */
export const NSL_KDD_FEATURE_SETS = {
  n38: { numeric: NSL_KDD_NUMERIC, onehot: [] as readonly string[] },
  n38oh: { numeric: NSL_KDD_NUMERIC, onehot: ["protocol_type", "flag"] as readonly string[] },
  all: { numeric: NSL_KDD_NUMERIC, onehot: NSL_KDD_SYMBOLIC as readonly string[] },
} as const;

/** Name of a feature set. */
export type NslKddFeatureSet = keyof typeof NSL_KDD_FEATURE_SETS;

/**
 * The feature set the trainer uses unless told otherwise: every column.
 * With `service`, KDDTest+ ROC-AUC rises at every forest size measured, and
 * most at the larger sizes the trainer now defaults to (README, "Detection
 * quality"; `npm run bench:quality`).
 */
export const DEFAULT_NSL_KDD_FEATURES: NslKddFeatureSet = "all";

/**
 * Checks one NSL-KDD record.
 *
 * @returns undefined when the row is usable, else the bad column and why.
 */
export function nslKddProblem(
  record: Readonly<Record<string, string>>,
): { column: string; message: string } | undefined {
  for (const c of NSL_KDD_NUMERIC) {
    const cell = record[c] ?? "";
    if (cell.trim() === "" || !Number.isFinite(Number(cell))) {
      return {
        column: c,
        message: `${c} ${JSON.stringify(cell.slice(0, 64))} is not a finite number`,
      };
    }
  }
  for (const c of [...NSL_KDD_SYMBOLIC, "label"]) {
    if ((record[c] ?? "").trim() === "") return { column: c, message: `${c} is empty` };
  }
  return undefined;
}
