import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgent } from "../agent/run-agent.js";
import { loadModel } from "../detector/index.js";
import { createServer, type NetanomalyServer } from "../server/server.js";

const root = join(import.meta.dirname, "..");
let server: NetanomalyServer;
let target = "";

beforeAll(async () => {
  // The quick start, end to end: the bundled model, the real server on HTTP/2,
  // the agent's simulator with injected attacks over one StreamScore channel.
  const detector = await loadModel(join(root, "models/default.model.json"));
  server = createServer({ detector, logger: pino({ level: "silent" }) });
  const { port } = await server.listen(0, "127.0.0.1");
  target = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server.shutdown(2000);
});

describe("agent → server with the default model", () => {
  it("scores every event once, loses none, and catches the injected attacks", async () => {
    const summary = await runAgent({ target, count: 4000, rate: 0, anomalyRate: 0.05, seed: 5 });
    expect(summary).toMatchObject({ sent: 4000, scored: 4000, errors: 0, lost: 0, duplicates: 0 });
    expect(summary.fatal).toBeUndefined();
    expect(summary.attacks_injected).toBeGreaterThan(100);
    // Measured on the held-out set: 96 % of attacks caught at about 1 % false positives.
    expect(summary.attacks_caught / summary.attacks_injected).toBeGreaterThan(0.85);
    expect(summary.false_positives / (summary.sent - summary.attacks_injected)).toBeLessThan(0.03);
    expect(Object.keys(summary.per_scenario).length).toBeGreaterThanOrEqual(4);
  });

  it("replays the labelled CSV and counts its rows", async () => {
    const summary = await runAgent({
      target,
      replay: join(root, "data/telemetry-eval.csv"),
      count: 3000,
      rate: 0,
    });
    expect(summary).toMatchObject({ sent: 3000, scored: 3000, lost: 0, skipped_rows: 0 });
  });
});
