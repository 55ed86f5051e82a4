import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Runs one of the project's CLIs (e.g. "trainer/main.ts") as `npm run` would,
 * through tsx, and resolves with its stdout.
 *
 * @throws Error with the CLI's stderr when it exits non-zero.
 */
export function runCli(script: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`${script} ${args.join(" ")} failed: ${stderr.trim() || error.message}`),
          );
        else resolve(stdout);
      },
    );
  });
}
