import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Directory of the benchmark's Python environment (gitignored). */
export const VENV = new URL("./.venv/", import.meta.url).pathname;
const REQUIREMENTS = new URL("./requirements.txt", import.meta.url).pathname;
const STAMP = join(VENV, "requirements.installed");

/**
 * Creates `bench/quality/.venv` and installs the pinned requirements, unless
 * the installed set already matches `requirements.txt` (idempotent; a second
 * run costs a file read).
 *
 * @returns the venv's python executable.
 */
export async function ensurePythonEnv(log: (line: string) => void): Promise<string> {
  const python = join(VENV, "bin", "python");
  const wanted = await readFile(REQUIREMENTS, "utf8");
  if (existsSync(python) && existsSync(STAMP) && (await readFile(STAMP, "utf8")) === wanted)
    return python;
  log(
    "bench: installing the Python environment (numpy, scikit-learn, isotree, pyod) into bench/quality/.venv",
  );
  if (!existsSync(python)) await run("python3", ["-m", "venv", VENV]);
  await run(
    python,
    ["-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", REQUIREMENTS],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  await writeFile(STAMP, wanted);
  return python;
}
