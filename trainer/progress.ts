/** Rows between progress lines when stderr is not a terminal. */
export const PROGRESS_EVERY_ROWS = 500_000;

/** Reports reading progress on stderr. */
export interface Progress {
  /** Called once per row read; cheap. */
  tick(rows: number): void;
  /** Clears the terminal progress line, if one was drawn. */
  done(): void;
}

/**
 * Creates a progress reporter: on a terminal, one line redrawn at most once a
 * second; otherwise a line every `PROGRESS_EVERY_ROWS` rows, so logs of long
 * runs show life without flooding. `quiet` turns it off.
 */
export function createProgress(
  stream: NodeJS.WriteStream,
  label: string,
  quiet: boolean,
): Progress {
  if (quiet) return { tick() {}, done() {} };
  const tty = stream.isTTY === true;
  const start = Date.now();
  let last = start;
  let drawn = false;
  const line = (rows: number) => {
    const seconds = (Date.now() - start) / 1000;
    return `${label}: ${rows.toLocaleString("en-US")} rows, ${seconds.toFixed(1)} s`;
  };
  return {
    tick(rows: number): void {
      if (tty) {
        if ((rows & 0x3ff) !== 0) return;
        const now = Date.now();
        if (now - last < 1000) return;
        last = now;
        stream.write(`\r${line(rows)}`);
        drawn = true;
      } else if (rows % PROGRESS_EVERY_ROWS === 0) {
        stream.write(`${line(rows)}\n`);
      }
    },
    done(): void {
      if (drawn) stream.write("\r\x1b[K");
    },
  };
}
