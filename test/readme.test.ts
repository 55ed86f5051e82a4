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

async function runBlock(name: string): Promise<string> {
  const script = blocks.get(name);
  if (script === undefined) throw new Error(`README has no block marked readme-test: ${name}`);
  const { stdout } = await run(
    "bash",
    ["-euo", "pipefail", "-c", script.replaceAll(":50051", `:${port}`)],
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
    expect([...blocks.keys()]).toContain("curl-score");
  });

  it("scores the exfiltration example with plain curl as anomalous", async () => {
    const body = JSON.parse(await runBlock("curl-score"));
    expect(body.verdict).toBe("VERDICT_ANOMALOUS");
    expect(body.score).toBeGreaterThan(body.threshold);
    expect(body.contributions.length).toBeGreaterThan(0);
  });
});
