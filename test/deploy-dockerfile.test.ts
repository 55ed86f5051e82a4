import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { goTool, ROOT, runProcess } from "./deploy-harness.js";

const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");

/** Instructions with continuation lines joined and comments dropped. */
const instructions = dockerfile
  .replace(/\\\n\s*/g, " ")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));

/** The instructions of each stage, by stage name (FROM … AS name). */
function stages(): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of instructions) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) {
      current = [];
      result.set(from[1] ?? `stage${result.size}`, current);
    } else {
      current?.push(line);
    }
  }
  return result;
}

describe("Dockerfile", () => {
  it("passes hadolint", async () => {
    const run = await runProcess(await goTool("hadolint"), ["Dockerfile"]);
    expect(run.stdout).toBe("");
    expect(run.code).toBe(0);
  });

  it("builds in one stage and runs from another with production dependencies only", () => {
    const all = stages();
    expect([...all.keys()]).toEqual(["build", "deps", "runtime"]);
    expect(all.get("build")).toContain(
      "RUN npx tsc -p tsconfig.build.json && npx tsc -p deploy/tsconfig.json",
    );
    expect(all.get("deps")?.some((l) => /npm ci --omit=dev/.test(l))).toBe(true);
    const runtime = all.get("runtime") ?? [];
    expect(runtime.some((l) => l.startsWith("RUN"))).toBe(false);
    expect(runtime).toContain("COPY --from=deps /app/node_modules node_modules");
    expect(runtime).toContain("COPY --from=build /src/dist dist");
  });

  it("runs as a non-root numeric user, exposes 50051 and stops with SIGTERM", () => {
    const runtime = stages().get("runtime") ?? [];
    const user = runtime.filter((l) => l.startsWith("USER "));
    expect(user).toEqual(["USER 1000:1000"]);
    expect(runtime).toContain("EXPOSE 50051");
    expect(runtime).toContain("STOPSIGNAL SIGTERM");
    expect(runtime.at(-1)).toBe('CMD ["node", "dist/deploy/entrypoint.js", "--host", "0.0.0.0"]');
  });

  it("checks health over gRPC with node, without curl or wget", () => {
    const runtime = stages().get("runtime") ?? [];
    expect(runtime.filter((l) => l.startsWith("HEALTHCHECK"))).toEqual([
      expect.stringMatching(/ CMD \["node", "dist\/deploy\/healthcheck\.js"\]$/),
    ]);
    expect(instructions.filter((l) => /\b(curl|wget)\b/.test(l))).toEqual([]);
  });

  it("bakes the default model in where NETANOMALY_MODEL points", () => {
    expect(dockerfile).toMatch(/NETANOMALY_MODEL=\/app\/models\/default\.model\.json/);
    expect(instructions).toContain("COPY models/default.model.json models/default.model.json");
  });

  it("copies only paths that exist and that .dockerignore lets through", () => {
    const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
    const sources = instructions
      .filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      if (source === "models/default.model.json") {
        // Written by `npm run train`; the image cannot be built without it.
        expect(ignore).toContain("!models/default.model.json");
        continue;
      }
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      const top = source.split("/")[0] as string;
      expect(ignore.split("\n"), source).not.toContain(top);
    }
  });

  it("builds from only what the build stage copies, into a server that runs", async () => {
    // The build stage's COPY lines, replayed into an empty directory (minus
    // what .dockerignore drops), so a new source directory the Dockerfile
    // does not copy fails here instead of in `docker build`.
    const context = mkdtempSync(join(tmpdir(), "netanomaly-image-"));
    try {
      const copies = (stages().get("build") ?? []).filter((l) => l.startsWith("COPY "));
      expect(copies.length).toBeGreaterThan(3);
      for (const line of copies) {
        const [, ...paths] = line.split(/\s+/);
        const dest = paths.pop() as string;
        for (const source of paths) {
          const to = dest.endsWith("/")
            ? join(context, dest, basename(source))
            : join(context, dest);
          cpSync(join(ROOT, source), to, {
            recursive: true,
            filter: (from) => !from.endsWith(".test.ts") && basename(from) !== "testdata",
          });
        }
      }
      symlinkSync(join(ROOT, "node_modules"), join(context, "node_modules"));
      const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
      for (const project of ["tsconfig.build.json", "deploy/tsconfig.json"]) {
        const build = await runProcess(process.execPath, [tsc, "-p", project], {
          cwd: context,
          timeoutMs: 120_000,
        });
        expect(build.stdout + build.stderr, project).toBe("");
        expect(build.code, project).toBe(0);
      }
      // The image's CMD, with a flag the server does not know: one line naming it.
      const run = await runProcess(process.execPath, ["dist/deploy/entrypoint.js", "--bogus"], {
        cwd: context,
      });
      expect(run.stderr).toBe(
        "netanomaly server: unknown flag --bogus (--help lists every flag)\n",
      );
      expect(run.code).toBe(2);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });
});
