import { describe, expect, it } from "vitest";
import {
  type BadRow,
  badRowProblem,
  createBadRowLog,
  formatBadRow,
  REPORTED_BAD_ROWS,
} from "./bad-rows.js";

describe("createBadRowLog()", () => {
  it("counts a line with several problems once and still reports each problem", () => {
    const reported: BadRow[] = [];
    const log = createBadRowLog((row) => reported.push(row));
    log.add({ line: 81, columns: [], message: "a quote is found on field dest_domain" });
    log.add({ line: 81, columns: [], message: "a quote is found on field dest_domain again" });
    log.add({ line: 90, columns: ["dest_port"], message: "dest_port 70000 is out of range" });
    expect(log.count).toBe(2);
    expect(log.first.map((r) => r.line)).toEqual([81, 90]);
    expect(reported.map((r) => r.line)).toEqual([81, 81, 90]);
  });

  it("reports the first rows in full and then only counts", () => {
    const reported: BadRow[] = [];
    const log = createBadRowLog((row) => reported.push(row));
    for (let line = 2; line < 2 + REPORTED_BAD_ROWS + 5; line++) {
      log.add({ line, columns: [], message: "x" });
      log.add({ line, columns: [], message: "y" });
    }
    expect(log.count).toBe(REPORTED_BAD_ROWS + 5);
    expect(log.first).toHaveLength(REPORTED_BAD_ROWS);
    expect(reported).toHaveLength(2 * REPORTED_BAD_ROWS);
  });
});

describe("formatBadRow()", () => {
  it("names no column, one column, or every column at fault", () => {
    expect(formatBadRow({ line: 3, columns: [], message: "expected 13 cells, got 14" })).toBe(
      "line 3: expected 13 cells, got 14",
    );
    expect(formatBadRow({ line: 4, columns: ["dest_port"], message: "m" })).toBe(
      "line 4, column dest_port: m",
    );
    expect(formatBadRow({ line: 5, columns: ["bytes_sent", "dest_ip"], message: "a; b" })).toBe(
      "line 5, columns bytes_sent, dest_ip: a; b",
    );
  });
});

describe("badRowProblem()", () => {
  it("measures bad rows against good plus bad rows", () => {
    expect(badRowProblem(79, 2, 0.01)).toBe(
      "2 of 81 rows (2.47%) are malformed, more than the 1% allowed (--max-bad)",
    );
    expect(badRowProblem(99, 1, 0.01)).toBeUndefined();
  });
});
