import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Comparison tools the benchmark installs itself, pinned. */
export const PINNED = {
  ghz: "github.com/bojand/ghz/cmd/ghz@v0.93.0",
  pip: ["scikit-learn==1.9.1", "threadpoolctl==3.8.0"],
} as const;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function goBin(): Promise<string> {
  try {
    const { stdout } = await run("go", ["env", "GOPATH"]);
    return join(stdout.trim(), "bin");
  } catch {
    return join(homedir(), "go", "bin");
  }
}

/** Path of ghz, installed with `go install` at the pinned version when missing. */
export async function ensureGhz(log: (line: string) => void): Promise<string | undefined> {
  const bin = join(await goBin(), "ghz");
  if (await exists(bin)) return bin;
  log(`installing ${PINNED.ghz}`);
  try {
    await run("timeout", ["600", "go", "install", PINNED.ghz], { maxBuffer: 1 << 22 });
    return bin;
  } catch (e) {
    log(`ghz unavailable: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    return undefined;
  }
}

/** Python of `.venv` with scikit-learn, created and filled with pip when missing. */
export async function ensureSklearn(
  root: string,
  log: (line: string) => void,
): Promise<string | undefined> {
  const python = join(root, ".venv", "bin", "python");
  const ready = async () => {
    try {
      await run(python, ["-c", "import sklearn, threadpoolctl"]);
      return true;
    } catch {
      return false;
    }
  };
  if (await ready()) return python;
  log(`installing ${PINNED.pip.join(" ")} into .venv`);
  try {
    if (!(await exists(python))) await run("python3", ["-m", "venv", join(root, ".venv")]);
    await run("timeout", ["900", python, "-m", "pip", "install", "-q", ...PINNED.pip], {
      maxBuffer: 1 << 22,
    });
  } catch (e) {
    log(`scikit-learn unavailable: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    return undefined;
  }
  return (await ready()) ? python : undefined;
}
