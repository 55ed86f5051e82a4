import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseModel } from "../detector/index.js";
import { runCli, SEED_CSV } from "./testdata/run-cli.js";
import { syntheticNslKdd } from "./testdata/synthetic-nsl-kdd.js";
import { NSL_KDD_TRAIN_DEFAULTS } from "./train-args.js";

const TRAIN = "trainer/main.ts";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "netanomaly-train-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The seed CSV with three malformed rows spliced in; returns their line numbers. */
async function malformedCsv(): Promise<{ path: string; lines: number[] }> {
  const rows = (await readFile(SEED_CSV, "utf8")).trimEnd().split(/\r?\n/);
  const good = rows[1] as string;
  const cells = good.split(",");
  const badPort = cells.map((c, i) => (i === 6 ? "-1" : c)).join(",");
  const hugeDomain = cells.map((c, i) => (i === 5 ? "a".repeat(5 * 1024 * 1024) : c)).join(",");
  const tooFew = cells.slice(0, 5).join(",");
  // Insert after data rows 10, 20 and 30 (file lines 11, 21, 31 before insertion).
  rows.splice(31, 0, tooFew);
  rows.splice(21, 0, hugeDomain);
  rows.splice(11, 0, badPort);
  const path = join(dir, "malformed.csv");
  await writeFile(path, `${rows.join("\n")}\n`);
  return { path, lines: [12, 23, 34] };
}

describe("npm run train", () => {
  it("trains on the seed CSV and prints a summary", async () => {
    const out = join(dir, "models", "seed.model.json");
    const r = await runCli(TRAIN, ["--data", SEED_CSV, "--out", out, "--trees", "20"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rows read:\s+195\n/);
    expect(r.stdout).toMatch(/rows sampled:\s+195\n/);
    expect(r.stdout).toMatch(/bad rows:\s+0\n/);
    expect(r.stdout).toMatch(/trees:\s+20\n/);
    expect(r.stdout).toMatch(/sample size:\s+195\n/);
    expect(r.stdout).toMatch(/threshold:\s+0\.\d+ \(contamination 0\.01\)/);
    const model = parseModel(await readFile(out, "utf8"));
    expect(model.training).toMatchObject({ rows: 195, sampledRows: 195 });
    expect(model.params).toEqual({
      nEstimators: 20,
      maxSamples: 256,
      seed: 42,
      contamination: 0.01,
    });
    expect(r.stdout).toContain(`model version: ${model.checksum.slice(0, 12)}`);
    // Atomic write: no temporary file is left behind.
    expect(await readdir(join(dir, "models"))).toEqual(["seed.model.json"]);
  });

  it("grows the forest in workers with --fit-workers: the same model with 1 and 2 workers, per-tree seeding recorded", async () => {
    const models = [];
    for (const workers of ["1", "2"]) {
      const out = join(dir, `workers-${workers}.json`);
      const r = await runCli(TRAIN, [
        "--data",
        SEED_CSV,
        "--out",
        out,
        "--trees",
        "20",
        "--fit-workers",
        workers,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/seed:\s+42 \(a seed per tree\)\n/);
      expect(r.stdout).toMatch(new RegExp(`fit workers:\\s+${workers}\\n`));
      models.push(await readFile(out, "utf8"));
    }
    expect(models[1]).toBe(models[0]);
    const model = parseModel(models[0] as string);
    expect(model.params).toEqual({
      nEstimators: 20,
      maxSamples: 256,
      seed: 42,
      contamination: 0.01,
      seeding: "per-tree",
    });
    // The file says how its trees were seeded: the one-thread fit regrows it from its params.
    const seq = join(dir, "one-stream.json");
    expect((await runCli(TRAIN, ["--data", SEED_CSV, "--out", seq, "--trees", "20"])).code).toBe(0);
    expect(parseModel(await readFile(seq, "utf8")).forest).not.toEqual(model.forest);
  });

  it("takes the data's end time from every row, not only the sampled ones", async () => {
    const out = join(dir, "small-reservoir.json");
    const r = await runCli(TRAIN, [
      "--data",
      SEED_CSV,
      "--out",
      out,
      "--reservoir",
      "10",
      "--trees",
      "5",
      "--quiet",
    ]);
    expect(r.code).toBe(0);
    const model = parseModel(await readFile(out, "utf8"));
    expect(model.training).toMatchObject({
      sampledRows: 10,
      dataEndTime: "2024-12-06T15:00:00.000Z",
    });
  });

  it("writes byte-identical models for the same data and seed", async () => {
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    const args = ["--data", SEED_CSV, "--seed", "7", "--reservoir", "100", "--quiet"];
    const [ra, rb] = await Promise.all([
      runCli(TRAIN, [...args, "--out", a]),
      runCli(TRAIN, [...args, "--out", b]),
    ]);
    expect([ra.code, rb.code]).toEqual([0, 0]);
    expect(ra.stdout).toMatch(/rows sampled:\s+100\n/);
    const [ba, bb] = await Promise.all([readFile(a), readFile(b)]);
    expect(ba.equals(bb)).toBe(true);
    const c = join(dir, "c.json");
    expect(
      (await runCli(TRAIN, ["--data", SEED_CSV, "--seed", "8", "--out", c, "--quiet"])).code,
    ).toBe(0);
    expect((await readFile(c)).equals(ba)).toBe(false);
  });

  it("reports malformed rows by line and column and trains on the rest", async () => {
    const { path, lines } = await malformedCsv();
    const out = join(dir, "malformed.model.json");
    const r = await runCli(TRAIN, ["--data", path, "--out", out, "--max-bad", "0.05"]);
    expect(r.code).toBe(0);
    const reports = r.stderr.trimEnd().split("\n");
    expect(reports).toHaveLength(3);
    expect(reports[0]).toContain(
      `line ${lines[0]}, column dest_port: dest_port "-1" is not a non-negative integer`,
    );
    expect(reports[1]).toContain(`line ${lines[1]}, column dest_domain:`);
    expect(reports[1]?.length).toBeLessThan(300);
    expect(reports[2]).toContain(`line ${lines[2]}: expected 13 cells, got 5`);
    expect(r.stdout).toMatch(/rows read:\s+198\n/);
    expect(r.stdout).toMatch(/bad rows:\s+3\n/);
    expect(r.stdout).toMatch(/rows sampled:\s+195\n/);
    // The good rows train the same model as the clean file.
    const clean = await runCli(TRAIN, [
      "--data",
      SEED_CSV,
      "--out",
      join(dir, "clean.json"),
      "--quiet",
    ]);
    expect(clean.code).toBe(0);
    expect(await readFile(out, "utf8")).toBe(await readFile(join(dir, "clean.json"), "utf8"));
  });

  it("counts each bad row once and names every bad cell in it", async () => {
    const rows = (await readFile(SEED_CSV, "utf8")).trimEnd().split(/\r?\n/);
    const cells = (rows[1] as string).split(",");
    // Two bad cells; and stray quotes, on which the CSV parser errs twice in one line.
    const twoBad = cells.map((c, i) => (i === 3 ? "999.1.1.1" : i === 8 ? "-1" : c)).join(",");
    const quotes = cells.map((c, i) => (i === 5 ? 'dns"x"y' : c)).join(",");
    rows.splice(21, 0, quotes);
    rows.splice(11, 0, twoBad);
    const path = join(dir, "two-bad.csv");
    await writeFile(path, `${rows.join("\n")}\n`);
    const r = await runCli(TRAIN, ["--data", path, "--out", join(dir, "two-bad.json")]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toContain(
      'line 12, columns source_ip, bytes_recv: source_ip "999.1.1.1" is not an IPv4 or IPv6 address; bytes_recv "-1" is not a non-negative integer',
    );
    expect(lines.filter((l) => l.includes(" line 23: "))).toHaveLength(2);
    expect(lines.at(-1)).toMatch(
      /: 2 of 197 rows \(1\.02%\) are malformed, more than the 1% allowed/,
    );
  });

  it("fails with exit 1 when more than 1% of the rows are malformed", async () => {
    const { path } = await malformedCsv();
    const out = join(dir, "never.json");
    const r = await runCli(TRAIN, ["--data", path, "--out", out, "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/3 of 198 rows \(1\.52%\) are malformed, more than the 1% allowed/);
    await expect(readFile(out)).rejects.toThrow();
  });

  it("lists the required columns a file lacks", async () => {
    const path = join(dir, "no-ports.csv");
    const text = (await readFile(SEED_CSV, "utf8"))
      .replace("dest_port,", "port,")
      .replace(",protocol,", ",proto,");
    await writeFile(path, text);
    const r = await runCli(TRAIN, ["--data", path, "--out", join(dir, "x.json")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`train: ${path} lacks required columns: dest_port, protocol\n`);
  });

  it("fails when no row is usable", async () => {
    const path = join(dir, "header-only.csv");
    await writeFile(path, (await readFile(SEED_CSV, "utf8")).split("\n")[0]);
    const r = await runCli(TRAIN, ["--data", path, "--out", join(dir, "x.json")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the file has no data rows");
  });

  it("trains an nsl-kdd table model with the chosen feature set", async () => {
    const path = join(dir, "kdd.txt");
    await writeFile(path, syntheticNslKdd(60));
    const out = join(dir, "kdd.json");
    const r = await runCli(TRAIN, [
      "--format",
      "nsl-kdd",
      "--features",
      "n38",
      "--data",
      path,
      "--out",
      out,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/format:\s+nsl-kdd \(n38\)\n/);
    expect(r.stdout).toMatch(/features:\s+38\n/);
    const model = parseModel(await readFile(out, "utf8"));
    expect(model.featureSpec).toMatchObject({ kind: "table", format: "nsl-kdd" });
    const oh = await runCli(TRAIN, [
      "--format",
      "nsl-kdd",
      "--data",
      path,
      "--out",
      join(dir, "kdd-oh.json"),
    ]);
    // The default, all: 38 numeric + protocol_type {icmp, tcp, udp} + service {http} + flag {REJ, S0, SF},
    // in a forest of the nsl-kdd default size (the sample clamped to the 60 rows).
    expect(oh.stdout).toMatch(/format:\s+nsl-kdd \(all\)\n/);
    expect(oh.stdout).toMatch(/features:\s+45\n/);
    expect(oh.stdout).toMatch(new RegExp(`trees:\\s+${NSL_KDD_TRAIN_DEFAULTS.trees}\\n`));
    expect(oh.stdout).toMatch(/sample size:\s+60\n/);
  });

  it.each([
    [
      ["--data", "d.csv", "--out", "m", "--sample-size", "0"],
      "train: --sample-size must be an integer in [2, 65536], got 0",
    ],
    [["--data", "d.csv", "--out", "m", "--bogus"], "train: unknown flag --bogus"],
  ])("exits 2 with one line on bad flags %j, before reading data", async (args, message) => {
    const r = await runCli(TRAIN, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${message} (usage: npm run train -- --help)\n`);
    expect(r.stdout).toBe("");
  });
});
