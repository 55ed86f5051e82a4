import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { FOLLOW_POLL_MS, followLines } from "./follow.js";
import type { SourceContext, SourceOptions } from "./source.js";

/** One line of a text input, without its line ending. */
export interface Line {
  text: string;
  /** 1-based line number in the input. */
  line: number;
  /** The input's name for messages: the path, or `stdin`. */
  where: string;
}

/** Longest line read, in bytes; a longer one is skipped (counted) up to its end. */
export const MAX_LINE_BYTES = 1024 * 1024;

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Reads a text input line by line with bounded memory: a file, `-` for
 * standard input, gzip-compressed or not (told by its first two bytes).
 * `\n`, `\r\n` and a lone `\r` before `\n` all end a line, so a file with
 * mixed line endings reads line for line as a person counts them. A last
 * line without a newline is still a line. Lines longer than
 * `MAX_LINE_BYTES` are reported through `ctx.onSkip` and passed over.
 *
 * With `options.follow` a file is read as it grows and across rotation,
 * as `tail -F` does, until `ctx.signal` aborts (`follow.ts`), polled every
 * `options.intervalS` seconds (default 0.25). Standard input is followed
 * by nature; a gzipped file cannot grow and is read to its end.
 *
 * @throws Error naming the file when it does not exist or is not a regular file.
 */
export async function* readLines(
  input: string,
  options: SourceOptions,
  ctx: SourceContext,
): AsyncGenerator<Line> {
  const where = input === "-" ? "stdin" : input;
  if (options.follow === true && input !== "-") {
    if (!(await isGzipFile(input))) {
      const pollMs = options.intervalS !== undefined ? options.intervalS * 1000 : FOLLOW_POLL_MS;
      yield* followLines(input, ctx, pollMs);
      return;
    }
    ctx.onNotice(`${input}: gzip-compressed, so it is read to its end, not followed`);
  }
  const stream = input === "-" ? process.stdin : await openFile(input);
  yield* splitLines(stream, where, ctx);
}

/**
 * @returns whether the file starts with gzip's magic bytes.
 * @throws Error naming the file when it does not exist or is not a regular file.
 */
async function isGzipFile(path: string): Promise<boolean> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${code ?? String(e)}`,
    );
  }
  if (!info.isFile()) throw new Error(`${path} is not a regular file`);
  const head = await new Promise<Buffer>((resolve, reject) => {
    const s = createReadStream(path, { start: 0, end: 1 });
    const parts: Buffer[] = [];
    s.on("data", (b) => parts.push(b as Buffer));
    s.on("end", () => resolve(Buffer.concat(parts)));
    s.on("error", reject);
  });
  return head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

async function openFile(path: string): Promise<Readable> {
  const gzip = await isGzipFile(path);
  const raw = createReadStream(path);
  return gzip ? raw.pipe(createGunzip()) : raw;
}

/**
 * Splits a byte stream into lines (see `readLines`).
 */
export async function* splitLines(
  stream: AsyncIterable<Buffer | string>,
  where: string,
  ctx: Pick<SourceContext, "onSkip">,
): AsyncGenerator<Line> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  let line = 0;
  const flush = (end: Buffer): Line | undefined => {
    line++;
    if (tooLong || pendingBytes + end.length > MAX_LINE_BYTES) {
      ctx.onSkip({
        where: `${where}:${line}`,
        message: `line longer than ${MAX_LINE_BYTES} bytes`,
      });
      pending = [];
      pendingBytes = 0;
      tooLong = false;
      return undefined;
    }
    let buf = pending.length === 0 ? end : Buffer.concat([...pending, end]);
    pending = [];
    pendingBytes = 0;
    if (buf.length > 0 && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    return { text: buf.toString("utf8"), line, where };
  };
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(0x0a, start);
        if (nl < 0) break;
        const got = flush(buf.subarray(start, nl));
        if (got) yield got;
        start = nl + 1;
      }
      if (start < buf.length) {
        const rest = buf.subarray(start);
        if (tooLong || pendingBytes + rest.length > MAX_LINE_BYTES) {
          tooLong = true;
          pending = [];
          pendingBytes = 0;
        } else {
          pending.push(Buffer.from(rest));
          pendingBytes += rest.length;
        }
      }
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "Z_DATA_ERROR" || code === "Z_BUF_ERROR") {
      ctx.onSkip({
        where: `${where}:${line + 1}`,
        message: "compressed data is corrupt or truncated; stopped reading here",
      });
      return;
    }
    throw e;
  }
  if (pendingBytes > 0 || tooLong) {
    const got = flush(Buffer.alloc(0));
    if (got) yield got;
  }
}
