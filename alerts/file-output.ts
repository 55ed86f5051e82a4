import { createWriteStream } from "node:fs";
import type { DeliveryReport } from "./delivery-queue.js";
import type { AlertOutput } from "./output.js";

/**
 * Appends each alert to `path` as one JSON line (JSONL), creating the file
 * if needed. Several `--workers` may append to one file: each line is one
 * `write` in append mode, so lines do not interleave.
 */
export function createFileOutput(
  path: string,
  report: DeliveryReport,
  onError?: (error: unknown) => void,
): AlertOutput {
  const stream = createWriteStream(path, { flags: "a" });
  stream.on("error", (e) => onError?.(e));
  return {
    name: "file",
    send(alert) {
      stream.write(`${JSON.stringify(alert)}\n`, (e) => {
        if (e) {
          report("failed", 1);
          onError?.(e);
        } else {
          report("sent", 1);
        }
      });
    },
    close() {
      return new Promise<void>((resolve) => stream.end(() => resolve()));
    },
  };
}
