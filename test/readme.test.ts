import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../detector/index.js";
import { createServer, type NetanomalyServer } from "../server/server.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const goBin = join(process.env.GOPATH ?? join(homedir(), "go"), "bin");

/**
 * The README's commands marked `<!-- readme-test: NAME -->`, so the README
 * shows only commands a test has run. Each is run as written, against a real
 * server on a free port instead of 50051.
 */
function readmeBlocks(): Map<string, string> {
  const text = readFileSync(join(root, "README.md"), "utf8");
  const blocks = new Map<string, string>();
  for (const m of text.matchAll(/<!-- readme-test: ([\w-]+) -->\s*```sh\n([\s\S]*?)```/g)) {
    blocks.set(m[1] as string, m[2] as string);
  }
  return blocks;
}

const blocks = readmeBlocks();
let server: NetanomalyServer;
let port = 0;

beforeAll(async () => {
  const detector = await loadModel(join(root, "models/default.model.json"));
  server = createServer({ detector, logger: pino({ level: "silent" }) });
  port = (await server.listen(0, "127.0.0.1")).port;
});

afterAll(async () => {
  await server.shutdown(2000);
});

/** Runs a block with bash; returns stdout and stderr together, as a terminal shows them. */
async function runBlock(name: string): Promise<string> {
  const script = blocks.get(name);
  if (script === undefined) throw new Error(`README has no block marked readme-test: ${name}`);
  const { stdout } = await run(
    "bash",
    ["-euo", "pipefail", "-c", `exec 2>&1\n${script.replaceAll(":50051", `:${port}`)}`],
    {
      cwd: root,
      env: {
        ...process.env,
        PATH: `${goBin}:${join(root, "node_modules/.bin")}:${process.env.PATH}`,
      },
      timeout: 30_000,
    },
  );
  return stdout;
}

describe("README", () => {
  it("marks the commands it shows", () => {
    expect([...blocks.keys()].sort()).toEqual(
      ["buf-curl", "clients", "curl-score", "grpcurl-list", "grpcurl-score", "health"].sort(),
    );
  });

  it("scores the exfiltration example with plain curl as anomalous", async () => {
    const body = JSON.parse(await runBlock("curl-score"));
    expect(body.verdict).toBe("VERDICT_ANOMALOUS");
    expect(body.score).toBeGreaterThan(body.threshold);
    expect(body.contributions.length).toBeGreaterThan(0);
  });

  it("lists and describes the services through reflection with grpcurl", async () => {
    const out = await runBlock("grpcurl-list");
    for (const service of [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "netanomaly.v1.ScoringService",
    ]) {
      expect(out).toContain(service);
    }
    expect(out).toContain("rpc StreamScore ( stream .netanomaly.v1.StreamScoreRequest )");
  });

  it("scores ordinary DNS traffic as normal with grpcurl", async () => {
    const body = JSON.parse(await runBlock("grpcurl-score"));
    expect(body.verdict).toBe("VERDICT_NORMAL");
    expect(body.score).toBeLessThan(body.threshold);
  });

  it("shows invalid_argument for a bad port and the model with buf curl", async () => {
    const out = await runBlock("buf-curl");
    expect(out).toContain("dest_port 70000 is out of range 0..65535");
    expect(out).toContain('"nEstimators": 100');
  });

  it("reports SERVING to grpc-health-probe", async () => {
    const out = await runBlock("health");
    expect(out.match(/status: SERVING/g)).toHaveLength(2);
  });

  it("runs the Python and Go clients", async () => {
    const out = await runBlock("clients");
    expect(out.match(/^Score: score=/gm)).toHaveLength(2);
    expect(out.match(/error invalid_argument \(dest_port\)/g)).toHaveLength(2);
  });
});
