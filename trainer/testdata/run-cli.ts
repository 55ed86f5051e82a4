import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Repository root, the working directory of the CLIs under test. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The seed telemetry CSV (195 rows, no labels) copied into testdata. */
export const SEED_CSV = fileURLToPath(new URL("./seed.csv", import.meta.url));

/** What a CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a CLI entry point (e.g. "trainer/main.ts") the way `npm run` does,
 * through tsx, and resolves with its exit code and output.
 */
export function runCli(script: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") reject(error);
        else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}
