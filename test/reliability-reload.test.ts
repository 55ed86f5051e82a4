import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Outbox } from "../agent/outbox.js";
import { freePort, killServer, type ServerChild, spawnServer } from "../bench/soak/server-child.js";
import type { Detector } from "../detector/detector.js";
import { loadModel, serializeModel, trainModel } from "../detector/index.js";
import {
  ScoringService,
  type StreamScoreRequest,
  StreamScoreRequestSchema,
  type StreamScoreResponse,
} from "../gen/netanomaly/v1/scoring_service_pb.js";
import { createModelHolder } from "../server/model-holder.js";
import { createModelReloader, type ModelReloader } from "../server/model-reload.js";
import { createServer, type NetanomalyServer } from "../server/server.js";
import { routineEvents } from "../server/testdata/detector.js";
import { captureLogs } from "../server/testdata/harness.js";

// Item 7 of "Reliability and security": hot model reload, in process (watch,
// with a stream open across the swap) and through SIGHUP on the real server.

let dir: string;
let path: string;
let server: NetanomalyServer | undefined;
let reloader: ModelReloader | undefined;
const children: ServerChild[] = [];

function modelText(seed: number): string {
  return serializeModel(trainModel(routineEvents(300), { nEstimators: 20, maxSamples: 64, seed }));
}

/** Writes beside the model and renames into place, as the trainer does. */
function replaceModel(text: string): void {
  const tmp = join(dir, ".model.json.tmp");
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "netanomaly-reload-"));
  path = join(dir, "model.json");
  writeFileSync(path, modelText(1));
});

afterEach(async () => {
  reloader?.close();
  reloader = undefined;
  await server?.shutdown(2_000);
  server = undefined;
  await Promise.all(children.splice(0).map(killServer));
  rmSync(dir, { recursive: true, force: true });
});

describe("hot reload in process", () => {
  it("swaps the model under an open StreamScore stream, which keeps getting answers", async () => {
    const { logger, lines } = captureLogs("debug");
    const first = await loadModel(path);
    const models = createModelHolder(first);
    server = createServer({ models, logger });
    reloader = createModelReloader({ path, models, logger, debounceMs: 20 });
    reloader.watch();
    const { port } = await server.listen(0, "127.0.0.1");
    const client = createClient(
      ScoringService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }),
    );

    const outbox = new Outbox<StreamScoreRequest>();
    const responses = client.streamScore(outbox)[Symbol.asyncIterator]();
    const ask = async (id: string): Promise<StreamScoreResponse> => {
      outbox.push(create(StreamScoreRequestSchema, { requestId: id, events: routineEvents(5, 9) }));
      const r = await responses.next();
      expect(r.done).toBe(false);
      return r.value as StreamScoreResponse;
    };

    const before = await ask("1");
    expect(before.modelVersion).toBe(first.info.version);
    expect((await client.getModelInfo({})).modelVersion).toBe(first.info.version);

    const swapped = new Promise<Detector>((resolve) => models.onSwap(resolve));
    replaceModel(modelText(2));
    const second = await swapped;
    expect(second.info.version).not.toBe(first.info.version);

    // Same stream, next batch: scored by the new model.
    const after = await ask("2");
    expect(after.modelVersion).toBe(second.info.version);
    expect(after.results).toHaveLength(5);
    expect(after.results.every((r) => r.outcome.case === "score")).toBe(true);
    expect((await client.getModelInfo({})).modelVersion).toBe(second.info.version);
    expect((await client.score({ event: routineEvents(1, 3)[0] })).modelVersion).toBe(
      second.info.version,
    );

    // A corrupt file: rejected with a warn line, the stream and the model go on.
    replaceModel(modelText(3).slice(0, 1000));
    const rejected = await waitFor(() => lines.find((l) => l.msg === "model reload rejected"));
    expect(rejected).toMatchObject({
      level: 40,
      trigger: "watch",
      reason: expect.stringContaining("truncated or corrupt"),
      keeping: second.info.version,
    });
    expect((await ask("3")).modelVersion).toBe(second.info.version);

    outbox.close();
    expect((await responses.next()).done).toBe(true);
  });
});

describe("hot reload in the real server (server/main.ts)", () => {
  it("reloads on SIGHUP and on file replacement, keeps --threshold, and rejects a bad file", async () => {
    const port = await freePort();
    const proc = spawnServer({ port, model: path, args: ["--threshold", "0.8"] });
    children.push(proc);
    const listening = await proc.listening;
    const first = listening.modelVersion as string;
    const client = createClient(
      ScoringService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }),
    );

    // Replaced by rename: the watcher picks it up.
    replaceModel(modelText(2));
    const reloaded = await proc.waitForLine((l) => l.msg === "model reloaded");
    expect(reloaded).toMatchObject({ trigger: "watch", from: first, threshold: 0.8 });
    const second = reloaded.to as string;
    const info = await client.getModelInfo({});
    expect(info.modelVersion).toBe(second);
    expect(info.threshold).toBe(0.8);

    // SIGHUP rereads the file (and does not kill the process).
    proc.child.kill("SIGHUP");
    expect(
      await proc.waitForLine((l) => l.msg === "model unchanged" && l.trigger === "SIGHUP"),
    ).toMatchObject({ modelVersion: second });

    // A file of another format version: rejected on the watch event and on SIGHUP.
    replaceModel(modelText(3).replace('"formatVersion":2', '"formatVersion":3'));
    await proc.waitForLine((l) => l.msg === "model reload rejected" && l.trigger === "watch");
    proc.child.kill("SIGHUP");
    const rejected = await proc.waitForLine(
      (l) => l.msg === "model reload rejected" && l.trigger === "SIGHUP",
    );
    expect(rejected).toMatchObject({
      level: 40,
      keeping: second,
      reason: expect.stringContaining("format version 3 is not supported"),
    });
    expect((await client.getModelInfo({})).modelVersion).toBe(second);
    expect(proc.child.exitCode).toBeNull();
  });
});

/** Resolves with the first truthy value of `probe`, checked every 5 ms. */
async function waitFor<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 5));
  }
}
