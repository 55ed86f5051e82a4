/**
 * The container image's start command (`CMD ["node", "dist/deploy/entrypoint.js",
 * "--host", "0.0.0.0"]`): the server (`server/main.ts`, same flags and
 * environment) with one thing added, so that `docker run -p 50051:50051
 * netanomaly` works as written.
 *
 * The server refuses to listen on a non-loopback address without API keys,
 * and inside a container loopback is out of reach. So when no key is given
 * (neither `API_KEYS`, nor `API_KEYS_FILE` — a file of keys, one a line, for
 * example a mounted secret, passed on as `--api-keys-file` — nor
 * `--api-keys-file`), and `--insecure` is not set either, this makes one
 * key, writes it once to stderr for the user to copy, and starts the server
 * with it. The key lives as long as the container; give your own to keep one.
 */
import { generatedKeyNotice, planStart } from "./start-plan.js";

async function main(): Promise<void> {
  const plan = planStart(process.argv.slice(2), process.env);
  // Workers forked by `--workers` run this file again with these arguments
  // and this environment, so they use the same key and print nothing.
  process.argv.splice(2, process.argv.length - 2, ...plan.args);
  if (plan.generatedKey !== undefined) {
    process.env.API_KEYS = plan.generatedKey;
    process.stderr.write(generatedKeyNotice(plan.generatedKey));
  }
  // A computed specifier: tsc need not compile the server a second time for
  // deploy/tsconfig.json (npm run build already emits dist/server/main.js).
  await import(new URL("../server/main.js", import.meta.url).href);
}

await main();
