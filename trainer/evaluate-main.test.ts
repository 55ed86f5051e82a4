import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, SEED_CSV } from "./testdata/run-cli.js";
import { syntheticNslKdd } from "./testdata/synthetic-nsl-kdd.js";

const TRAIN = "trainer/main.ts";
const EVALUATE = "trainer/evaluate-main.ts";
let dir: string;
let model: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "netanomaly-evaluate-"));
  model = join(dir, "seed.model.json");
  const r = await runCli(TRAIN, ["--data", SEED_CSV, "--out", model, "--quiet"]);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The seed rows labelled normal, plus planted exfiltration rows. */
async function labelledCsv(): Promise<string> {
  const [header, ...rows] = (await readFile(SEED_CSV, "utf8")).trimEnd().split(/\r?\n/);
  const attack =
    "12/7/24 03:13,C:\\Users\\Public\\svc.exe,deadbeef0001,192.168.1.100,203.0.113.66,files.evil.example,8443,900000000,200,TCP,files.evil.example,cmd.exe,User";
  const lines = [
    `${header},label,scenario`,
    ...rows.map((r) => `${r},0,normal`),
    `${attack},1,exfiltration`,
    `${attack},true,exfiltration`,
  ];
  const path = join(dir, "labelled.csv");
  await writeFile(path, `${lines.join("\n")}\n`);
  return path;
}

describe("npm run evaluate", () => {
  it("scores an unlabelled CSV and reports how many rows are flagged", async () => {
    const r = await runCli(EVALUATE, ["--model", model, "--data", SEED_CSV, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      rows: 195,
      roc_auc: null,
      pr_auc: null,
      label_column: null,
      per_scenario: null,
    });
    // Contamination 0.01 on the training data itself: about 1% flagged.
    expect(report.flagged).toBeGreaterThanOrEqual(1);
    expect(report.flagged).toBeLessThanOrEqual(3);
    const table = await runCli(EVALUATE, ["--model", model, "--data", SEED_CSV]);
    expect(table.stdout).toMatch(/flagged:\s+\d+ \(/);
    expect(table.stdout).toContain("none (no label column)");
  });

  it("reports ROC-AUC, PR-AUC and recall per scenario on labelled data", async () => {
    const data = await labelledCsv();
    const r = await runCli(EVALUATE, ["--model", model, "--data", data, "--json"]);
    expect(r.stderr).toBe("");
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      rows: 197,
      positives: 2,
      label_column: "label",
      scenario_column: "scenario",
    });
    expect(report.roc_auc).toBeGreaterThan(0.95);
    expect(report.pr_auc).toBeGreaterThan(0.5);
    expect(report.per_scenario.exfiltration).toMatchObject({
      rows: 2,
      positives: 2,
      recall: 1,
      recall_at_target_fpr: 1,
    });
    expect(report.per_scenario.normal).toMatchObject({ rows: 195, positives: 0, recall: null });
    for (const key of [
      "precision",
      "recall",
      "threshold",
      "f1",
      "false_positive_rate",
      "threshold_at_target_fpr",
    ]) {
      expect(typeof report[key]).toBe("number");
    }
    const table = await runCli(EVALUATE, ["--model", model, "--data", data]);
    expect(table.stdout).toMatch(/ROC-AUC:\s+[01]\.\d{4}\n/);
    expect(table.stdout).toMatch(/\n {2}exfiltration\s+2\s+2\s+1\.0000\s+1\.0000/);
  });

  it("evaluates an nsl-kdd model with the label column as its 42nd column", async () => {
    const data = join(dir, "kdd.txt");
    await writeFile(data, syntheticNslKdd(80));
    const kdd = join(dir, "kdd.json");
    expect((await runCli(TRAIN, ["--format", "nsl-kdd", "--data", data, "--out", kdd])).code).toBe(
      0,
    );
    const r = await runCli(EVALUATE, [
      "--model",
      kdd,
      "--data",
      data,
      "--json",
      "--scenario-column",
      "label",
    ]);
    expect(r.stderr).toBe("");
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      format: "nsl-kdd",
      rows: 80,
      positives: 8,
      label_column: "label",
    });
    expect(Object.keys(report.per_scenario)).toEqual(["neptune", "normal"]);
  });

  it("fails with exit 1 and a clear message on a truncated model", async () => {
    const text = await readFile(model, "utf8");
    const truncated = join(dir, "truncated.json");
    await writeFile(truncated, text.slice(0, Math.floor(text.length / 2)));
    const r = await runCli(EVALUATE, ["--model", truncated, "--data", SEED_CSV]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^evaluate: model file ${truncated}: not valid JSON, the file is truncated or corrupt`,
      ),
    );
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("fails with exit 1 on a missing or unreadable model", async () => {
    const missing = await runCli(EVALUATE, ["--model", join(dir, "nope.json"), "--data", SEED_CSV]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`evaluate: model file ${join(dir, "nope.json")} does not exist\n`);
    const directory = await runCli(EVALUATE, ["--model", dir, "--data", SEED_CSV]);
    expect(directory.code).toBe(1);
    expect(directory.stderr).toBe(
      `evaluate: model file ${dir} is a directory, not a regular file: refused\n`,
    );
  });

  it("names a label column the data lacks", async () => {
    const r = await runCli(EVALUATE, [
      "--model",
      model,
      "--data",
      SEED_CSV,
      "--label-column",
      "is_attack",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /has no column is_attack \(--label-column\); it has timestamp, process_path/,
    );
  });

  it("exits 2 on bad flags", async () => {
    const r = await runCli(EVALUATE, ["--model", model, "--data", SEED_CSV, "--target-fpr", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "evaluate: --target-fpr must be in [0, 1), got 1 (usage: npm run evaluate -- --help)\n",
    );
  });
});
