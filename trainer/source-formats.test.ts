import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseModel } from "../detector/index.js";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createSimulator } from "../telemetry/simulator.js";
import { runCli } from "./testdata/run-cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "netanomaly-formats-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Simulated events as JSON lines with the process and DNS fields removed, as a flow exporter gives them. */
function flowLines(n: number, anomalyRate: number, seed: number): string[] {
  const sim = createSimulator({ seed, anomalyRate, startMs: Date.UTC(2024, 11, 16) });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const { event, label } = sim.next();
    const flow = {
      ...JSON.parse(toJsonString(NetworkEventSchema, event)),
      processPath: undefined,
      processHash: undefined,
      parentProcess: undefined,
      userContext: undefined,
      dnsQuery: undefined,
      destDomain: undefined,
    };
    lines.push(JSON.stringify(anomalyRate > 0 ? { event: flow, scenario: label } : flow));
  }
  return lines;
}

describe("npm run train / evaluate --format jsonl", () => {
  it("trains on flow-shaped JSON lines a model of the fields they carry, skipping bad lines by number", async () => {
    const data = join(dir, "flows.jsonl");
    const lines = flowLines(3000, 0, 7);
    lines.splice(10, 0, "{not json", '{"destPort":"eighty"}');
    await writeFile(data, `${lines.join("\n")}\n`);
    const out = join(dir, "flows.model.json");
    const r = await runCli("trainer/main.ts", ["--data", data, "--format", "jsonl", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/format:\s+jsonl/);
    expect(r.stdout).toMatch(/bad rows:\s+2/);
    expect(r.stderr).toMatch(/line 11: not JSON/);
    expect(r.stderr).toMatch(/line 12: .*dest_port from JSON: expected number/);
    const model = parseModel(await import("node:fs/promises").then((f) => f.readFile(out, "utf8")));
    expect(model.featureSpec.kind === "telemetry" && model.featureSpec.fields).toEqual([
      "timestamp",
      "source_ip",
      "dest_ip",
      "dest_port",
      "bytes_sent",
      "bytes_recv",
      "protocol",
    ]);

    const evalData = join(dir, "flows-eval.jsonl");
    await writeFile(evalData, `${flowLines(3000, 0.05, 8).join("\n")}\n`);
    const e = await runCli("trainer/evaluate-main.ts", [
      "--model",
      out,
      "--data",
      evalData,
      "--format",
      "jsonl",
      "--json",
    ]);
    expect(e.code).toBe(0);
    const report = JSON.parse(e.stdout);
    expect(report.format).toBe("jsonl");
    expect(report.rows).toBe(3000);
    expect(report.roc_auc).toBeGreaterThan(0.5);
  });

  it("refuses a format that reads no files", async () => {
    const r = await runCli("trainer/main.ts", ["--data", "x", "--format", "sim", "--out", "y"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--format must be one of telemetry\|nsl-kdd\|.*jsonl/);
  });

  it("evaluates a Zeek log against a labels file of uids, reporting the labels file's own bad lines", async () => {
    const model = join(dir, "zeek.model.json");
    const data = "sources/testdata/zeek-conn.log";
    const t = await runCli("trainer/main.ts", [
      ...["--data", data, "--format", "zeek", "--out", model, "--max-bad", "0.5"],
    ]);
    expect(t.code).toBe(0);
    const e = await runCli("trainer/evaluate-main.ts", [
      ...["--model", model, "--data", data, "--format", "zeek", "--max-bad", "0.5"],
      ...["--labels", "sources/testdata/zeek-labels.csv", "--json"],
    ]);
    expect(e.code).toBe(0);
    expect(e.stderr).toMatch(
      /skipping sources\/testdata\/zeek-labels\.csv:6: not a key,label line/,
    );
    const report = JSON.parse(e.stdout);
    expect(report.positives).toBe(2);
    expect(Object.keys(report.per_scenario).sort()).toEqual(["attack", "c2_beacon", "normal"]);
  });
});
