import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

/** How `startModuleWorker` may load the module under tsx. */
export interface ModuleWorkerOptions {
  /**
   * The module and everything it imports are self-contained TypeScript: no
   * `import.meta`, no top-level await, no npm packages. Under tsx it is then
   * bundled once per process with esbuild (a dev dependency, as tsx is) and
   * run as a script: about 40 ms to start a worker where tsx's loader takes
   * 0.3–0.5 s.
   */
  selfContained?: boolean;
}

/**
 * Starts a `worker_threads` worker running the module `name` beside
 * `callerUrl` (pass `import.meta.url`): `name.ts` when the caller runs as
 * TypeScript under tsx, `name.js` after `npm run build`. tsx's loader serves
 * the main thread only, so under tsx the worker loads the TypeScript file
 * through tsx's API from a small bootstrap script, or (`selfContained`) as
 * one bundled script. The worker is unref'd: it does not keep the process
 * alive.
 */
export function startModuleWorker(
  callerUrl: string,
  name: string,
  options: ModuleWorkerOptions = {},
): Worker {
  // By path: loaded through tsx's API (from inside another worker), the URL carries a query.
  const typescript = new URL(callerUrl).pathname.endsWith(".ts");
  const file = new URL(`./${name}${typescript ? ".ts" : ".js"}`, callerUrl);
  const worker = !typescript
    ? new Worker(file)
    : options.selfContained === true
      ? new Worker(bundled(fileURLToPath(file)), { eval: true })
      : new Worker(
          `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((t) => t.tsImport(${JSON.stringify(file.href)}, ${JSON.stringify(callerUrl)}));`,
          { eval: true },
        );
  worker.unref();
  return worker;
}

/** Bundles per file, built once per process. */
const bundles = new Map<string, string>();

/**
 * Forgets the bundles built so far, so that the next worker started pays for
 * its bundle as the first one in a new process does: for the benchmark's
 * cold fits.
 */
export function forgetWorkerBundles(): void {
  bundles.clear();
}

/** `file` and what it imports as one CommonJS script, by esbuild. */
function bundled(file: string): string {
  let code = bundles.get(file);
  if (code === undefined) {
    const esbuild = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
    const built = esbuild.buildSync({
      entryPoints: [file],
      bundle: true,
      format: "cjs",
      platform: "node",
      target: "node20",
      write: false,
      logLevel: "silent",
    });
    // A warning (import.meta made empty, say) means the module is not self-contained.
    const warning = built.warnings[0];
    if (warning !== undefined) {
      throw new Error(
        `cannot bundle ${file} for a worker: ${warning.text} (${warning.location?.file}:${warning.location?.line})`,
      );
    }
    code = built.outputFiles[0]?.text;
    if (code === undefined) throw new Error(`esbuild gave no output for ${file}`);
    bundles.set(file, code);
  }
  return code;
}
