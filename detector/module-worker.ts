import { Worker } from "node:worker_threads";

/**
 * Starts a `worker_threads` worker running the module `name` beside
 * `callerUrl` (pass `import.meta.url`): `name.ts` when the caller runs as
 * TypeScript under tsx, `name.js` after `npm run build`. tsx's loader serves
 * the main thread only, so under tsx the worker loads the TypeScript file
 * through tsx's API from a small bootstrap script. The worker is unref'd: it
 * does not keep the process alive.
 */
export function startModuleWorker(callerUrl: string, name: string): Worker {
  // By path: loaded through tsx's API (from inside another worker), the URL carries a query.
  const typescript = new URL(callerUrl).pathname.endsWith(".ts");
  const file = new URL(`./${name}${typescript ? ".ts" : ".js"}`, callerUrl);
  const worker = typescript
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((t) => t.tsImport(${JSON.stringify(file.href)}, ${JSON.stringify(callerUrl)}));`,
        { eval: true },
      )
    : new Worker(file);
  worker.unref();
  return worker;
}
