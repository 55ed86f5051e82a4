import { BUNDLE_DIR, buildBundle } from "./bundle.js";

/** `npm run build:dashboard`: writes the page's bundle to `dashboard/dist/`. */
buildBundle()
  .then(() => process.stdout.write(`dashboard bundle written to ${BUNDLE_DIR}\n`))
  .catch((e: unknown) => {
    process.stderr.write(`build:dashboard: ${(e as Error).message}\n`);
    process.exit(1);
  });
