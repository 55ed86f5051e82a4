import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runProcess } from "./deploy-harness.js";

/** Every file under `dir`, as paths relative to it, sorted. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.parentPath.includes("__pycache__"))
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

let out: string;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), "netanomaly-gen-"));
});

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

// buf generate -o writes under a temporary base directory, so the check never
// touches the working tree (scripts/check-gen-clients.sh regenerates in place).
const templates = {
  "buf.gen.python.yaml": "clients/python/gen",
  "buf.gen.go.yaml": "clients/go/gen",
} as const;

for (const [template, gen] of Object.entries(templates)) {
  describe(`buf generate --template ${template}`, () => {
    it(`reproduces the committed ${gen}`, async () => {
      const goBin = (await runProcess("go", ["env", "GOPATH"])).stdout.trim();
      const run = await runProcess(
        join(ROOT, "node_modules/.bin/buf"),
        ["generate", "--template", template, "-o", out],
        { env: { ...process.env, PATH: `${goBin}/bin:${process.env.PATH}` } },
      );
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const fresh = join(out, gen);
      const committed = join(ROOT, gen);
      expect(listFiles(fresh)).toEqual(listFiles(committed));
      for (const file of listFiles(fresh)) {
        expect(readFileSync(join(fresh, file), "utf8"), file).toBe(
          readFileSync(join(committed, file), "utf8"),
        );
      }
    });
  });
}
