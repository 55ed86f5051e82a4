import { lstat, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** An output path that must not be replaced; the message names it and what is there. */
export class OutputPathError extends Error {
  override name = "OutputPathError";
}

/**
 * Writes a file atomically: into a temporary file in the same directory
 * (creating the directory), then `rename` over the target, so a reader such
 * as the server never sees a half-written model.
 *
 * Only a regular file (or nothing) at `path` is replaced: a device node, a
 * FIFO, a socket, a directory or a symbolic link there is refused before
 * anything is written (issue 23, item 10: run as root, the rename replaced
 * a device node). The check is made again just before the rename.
 *
 * @throws OutputPathError naming the path and what is there.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await checkOutputPath(path);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  // O_EXCL after removing a stale one: a link planted at the temporary name is not followed.
  await rm(temp, { force: true });
  try {
    await writeFile(temp, text, { encoding: "utf8", flush: true, flag: "wx" });
    await checkOutputPath(path);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

/** Refuses anything at `path` but a regular file; absent is fine. */
export async function checkOutputPath(path: string): Promise<void> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (st.isFile()) return;
  const what = st.isSymbolicLink()
    ? "a symbolic link (the rename would replace the link, not its target)"
    : st.isCharacterDevice()
      ? "a character device"
      : st.isBlockDevice()
        ? "a block device"
        : st.isFIFO()
          ? "a FIFO"
          : st.isDirectory()
            ? "a directory"
            : st.isSocket()
              ? "a socket"
              : "not a regular file";
  throw new OutputPathError(
    `--out ${path} is ${what}; refusing to replace it (give a regular file or a new path)`,
  );
}
