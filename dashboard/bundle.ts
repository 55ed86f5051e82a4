import { existsSync, readdirSync, statSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** This folder, from `dashboard/*.ts` under tsx and from `dist/dashboard/*.js` after a build. */
const HERE = fileURLToPath(new URL(".", import.meta.url));

/** The repository root: the nearest folder above this file holding `package.json`. */
function findRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "package.json"))) return d;
    if (dirname(d) === d) return resolve(dir, "..");
  }
}

/** The page's bundle could not be built (esbuild missing, or a build error). */
export class BundleError extends Error {
  override readonly name = "BundleError";
}

/** Sources of the page: `dashboard/web/`. */
export const WEB_DIR = join(findRoot(HERE), "dashboard", "web");

/** Where `npm run build:dashboard` writes the bundle: `dashboard/dist/` (not committed). */
export const BUNDLE_DIR = join(findRoot(HERE), "dashboard", "dist");

/** Files of a built bundle; the server serves exactly these. */
export const BUNDLE_FILES = ["index.html", "app.js", "app.css"] as const;

/** True when every file of the bundle exists in `dir`. */
export function bundleExists(dir: string = BUNDLE_DIR): boolean {
  return BUNDLE_FILES.every((f) => existsSync(join(dir, f)));
}

/**
 * Bundles the page with esbuild (a dev dependency, loaded only here):
 * `web/main.tsx` and everything it imports (Preact, uPlot, the generated
 * Connect-Web client) into one minified `app.js` and `app.css`, plus
 * `index.html`. No CDN: the page works offline.
 *
 * @throws BundleError saying to run `npm install` when esbuild is missing.
 */
export async function buildBundle(outDir: string = BUNDLE_DIR): Promise<void> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (e) {
    throw new BundleError(
      `cannot build the dashboard: esbuild is not installed (${(e as Error).message}); ` +
        "run `npm install` and `npm run build:dashboard`",
    );
  }
  await mkdir(outDir, { recursive: true });
  // Built beside, then renamed in file by file: a server or a concurrent
  // build reading the folder never sees a half-written file.
  const tmp = await mkdtemp(join(dirname(outDir), ".dashboard-build-"));
  try {
    await esbuild.build({
      entryPoints: { app: join(WEB_DIR, "main.tsx") },
      bundle: true,
      minify: true,
      format: "esm",
      target: ["chrome109", "firefox115", "safari16"],
      jsx: "automatic",
      jsxImportSource: "preact",
      outdir: tmp,
      logLevel: "silent",
      legalComments: "eof",
    });
    await copyFile(join(WEB_DIR, "index.html"), join(tmp, "index.html"));
    for (const f of BUNDLE_FILES) {
      await rename(join(tmp, f), join(outDir, f));
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * True when the bundle in `dir` is missing a file or is older than a file of
 * `web/` (when the sources are there: an image may ship only the bundle).
 */
export function bundleStale(dir: string = BUNDLE_DIR): boolean {
  if (!bundleExists(dir)) return true;
  if (!existsSync(WEB_DIR)) return false;
  const built = Math.min(...BUNDLE_FILES.map((f) => statSync(join(dir, f)).mtimeMs));
  return readdirSync(WEB_DIR).some((f) => statSync(join(WEB_DIR, f)).mtimeMs > built);
}

/** Builds the bundle if it is missing or older than its sources; returns the folder. */
export async function ensureBundle(outDir: string = BUNDLE_DIR): Promise<string> {
  if (bundleStale(outDir)) {
    await buildBundle(outDir);
  }
  return outDir;
}
