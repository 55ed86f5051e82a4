import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_NSL_KDD_FEATURES,
  NSL_KDD_COLUMNS,
  NSL_KDD_FEATURE_COLUMNS,
  NSL_KDD_FEATURE_SETS,
  NSL_KDD_NUMERIC,
  nslKddProblem,
} from "./nsl-kdd.js";

// The dataset lives outside the repository (see README); tests that read it skip without it.
const FIELD_NAMES = new URL("../../shared/data/nsl-kdd/field_names.csv", import.meta.url);

describe("NSL-KDD layout", () => {
  it("has 41 features, then label and difficulty", () => {
    expect(NSL_KDD_FEATURE_COLUMNS).toHaveLength(41);
    expect(NSL_KDD_COLUMNS.slice(41)).toEqual(["label", "difficulty"]);
  });

  it("has 38 numeric columns (N38), N38+OH adds protocol_type and flag", () => {
    expect(NSL_KDD_NUMERIC).toHaveLength(38);
    expect(NSL_KDD_NUMERIC).not.toContain("service");
    expect(NSL_KDD_FEATURE_SETS.n38oh.onehot).toEqual(["protocol_type", "flag"]);
  });

  it("uses every column by default, service one-hot too", () => {
    const set = NSL_KDD_FEATURE_SETS[DEFAULT_NSL_KDD_FEATURES];
    expect(set.onehot).toEqual(["protocol_type", "service", "flag"]);
    expect([...set.numeric, ...set.onehot].sort()).toEqual([...NSL_KDD_FEATURE_COLUMNS].sort());
  });

  it.skipIf(!existsSync(FIELD_NAMES))("matches the dataset's field_names.csv", () => {
    const rows = readFileSync(FIELD_NAMES, "utf8")
      .trim()
      .split(/\r?\n/)
      .map((l) => l.split(","));
    expect(rows.map(([name]) => name)).toEqual([...NSL_KDD_FEATURE_COLUMNS]);
    expect(rows.filter(([, type]) => type === "continuous").map(([name]) => name)).toEqual(
      NSL_KDD_NUMERIC,
    );
  });
});

describe("nslKddProblem()", () => {
  const good = Object.fromEntries(NSL_KDD_COLUMNS.map((c) => [c, "0"]));
  Object.assign(good, { protocol_type: "tcp", service: "http", flag: "SF", label: "normal" });

  it("accepts a well-formed row", () => {
    expect(nslKddProblem(good)).toBeUndefined();
  });

  it("names a non-numeric numeric cell and an empty label", () => {
    expect(nslKddProblem({ ...good, src_bytes: "lots" })).toEqual({
      column: "src_bytes",
      message: 'src_bytes "lots" is not a finite number',
    });
    expect(nslKddProblem({ ...good, label: "" })).toEqual({
      column: "label",
      message: "label is empty",
    });
  });
});
