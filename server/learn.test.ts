import { spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { modelVersion, serializeModel, trainModel } from "../detector/index.js";
import { ScoringService } from "../gen/netanomaly/v1/scoring_service_pb.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { createSimulator, DEFAULT_START_MS } from "../telemetry/simulator.js";
import { REPO_ROOT } from "./config.js";
import { useServerProcesses } from "./testdata/processes.js";

// --learn end to end: server/main.ts as a child process, fed over gRPC.

const tsx = join(REPO_ROOT, "node_modules", ".bin", "tsx");
const main = join(REPO_ROOT, "server", "main.ts");
const processes = useServerProcesses("netanomaly-learn-");
const DAY = 24 * 3_600_000;

function simulate(seed: number, startMs: number, days: number): NetworkEvent[] {
  const sim = createSimulator({ seed, startMs, meanGapMs: 30_000 });
  const out: NetworkEvent[] = [];
  for (;;) {
    const { event } = sim.next();
    if (sim.nowMs >= startMs + days * DAY) return out;
    out.push(event);
  }
}

function start(args: string[]) {
  const child = spawn(tsx, [main, ...args], {
    cwd: tmpdir(),
    env: { ...process.env, NETANOMALY_PORT: "", NETANOMALY_MODEL: "", NETANOMALY_HOST: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  processes.track(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const w of waiters.filter((x) => x.msg === line.msg)) w.resolve(line);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  /** The first log line with this message, however long it takes (the test's timeout bounds it). */
  const line = (msg: string) => {
    const seen = lines.find((l) => l.msg === msg);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      waiters.push({ msg, resolve });
      void exited.then(() => reject(new Error(`exited before "${msg}": ${stderr}`)));
    });
  };
  return { child, lines, line, exited };
}

describe("npm run server -- --learn", () => {
  it("retrains in a worker, swaps the model in, shows its lineage, and resumes from it after a restart", async () => {
    const history = simulate(1, DEFAULT_START_MS, 2);
    const model = trainModel(history, { nEstimators: 30, seed: 3 });
    const modelPath = join(processes.dir(), "learn-base.model.json");
    writeFileSync(modelPath, serializeModel(model));
    const learnDir = join(processes.dir(), "learned");
    const args = [
      "--port",
      "0",
      "--model",
      modelPath,
      "--learn",
      "--retrain-every",
      "1000",
      "--learn-dir",
      learnDir,
    ];

    const first = start(args);
    const listening = await first.line("listening");
    expect(listening.learn).toMatchObject({ dir: learnDir, retrainEvery: "1000 events" });
    const client = createClient(
      ScoringService,
      createGrpcTransport({ baseUrl: String(listening.url) }),
    );
    const stream = simulate(2, DEFAULT_START_MS + 2 * DAY, 2);
    async function* requests() {
      for (let i = 0; i < stream.length; i += 500)
        yield { requestId: String(i), events: stream.slice(i, i + 500) };
    }
    let answered = 0;
    for await (const res of client.streamScore(requests())) answered += res.results.length;
    expect(answered).toBe(stream.length);
    const promoted = await first.line("learned model promoted");
    expect(promoted.parent).toBe(modelVersion(model));
    const info = await client.getModelInfo({});
    expect(info.learning).toBe(true);
    expect(info.modelVersion).toBe(promoted.version);
    expect(info.lineage?.parentVersion).toBe(modelVersion(model));
    expect(info.lineage?.generation).toBe(1);
    expect(info.retrainsPromoted).toBeGreaterThanOrEqual(1n);
    expect(readdirSync(learnDir)).toContain(
      `learned-000001-${String(promoted.version)}.model.json`,
    );
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = start(args);
    const resumed = await second.line("resumed from the newest learned model");
    expect(resumed.modelVersion).toBe(info.modelVersion);
    const again = await second.line("listening");
    expect(again.modelVersion).toBe(info.modelVersion);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 60_000);
});
