import { readFile } from "node:fs/promises";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";

/** Patterns a person marked benign: flagged events matching one are learnable at once. */
export interface BenignPatterns {
  /** Number of rules. */
  readonly size: number;
  /** Whether the event matches a rule. */
  matches(event: NetworkEvent): boolean;
}

/** A line of a benign-patterns file that could not be used. */
export interface BenignLineError {
  /** `file:line`. */
  where: string;
  message: string;
}

interface Rule {
  process: string;
  dest: string;
  port: number | undefined;
}

/**
 * Parses a benign-patterns file: one rule a line, `process_path|destination`
 * where the destination is a domain or address with an optional `:port`, and
 * either side may be `*` (any). Blank lines and `#` comments are skipped. A
 * bad line is reported through `onError` with its `file:line` and skipped;
 * the good lines around it are kept.
 *
 * @example
 * // /opt/newapp/bin/newapp-agent|telemetry.newapp.example:443
 */
export function parseBenignPatterns(
  text: string,
  file: string,
  onError: (error: BenignLineError) => void,
): BenignPatterns {
  const rules: Rule[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `${file}:${i + 1}`;
    const bar = line.lastIndexOf("|");
    if (bar <= 0 || bar === line.length - 1) {
      onError({ where, message: `expected process_path|destination, got ${JSON.stringify(line)}` });
      return;
    }
    const process = line.slice(0, bar).trim();
    let dest = line.slice(bar + 1).trim();
    let port: number | undefined;
    const colon = dest.lastIndexOf(":");
    // An IPv6 address has colons of its own: a port needs [addr]:port there.
    if (colon > 0 && (dest.indexOf(":") === colon || dest.startsWith("["))) {
      const portText = dest.slice(colon + 1);
      const n = Number(portText);
      if (!/^\d{1,5}$/.test(portText) || n > 65535) {
        onError({
          where,
          message: `port must be an integer in [0, 65535], got ${JSON.stringify(portText)}`,
        });
        return;
      }
      port = n;
      dest = dest.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
    }
    rules.push({ process, dest, port });
  });
  return {
    size: rules.length,
    matches(event) {
      for (const r of rules) {
        if (r.process !== "*" && r.process !== event.processPath) continue;
        if (r.port !== undefined && r.port !== event.destPort) continue;
        if (r.dest !== "*" && r.dest !== event.destDomain && r.dest !== event.destIp) continue;
        return true;
      }
      return false;
    },
  };
}

/**
 * Reads a benign-patterns file (see {@link parseBenignPatterns}).
 *
 * @throws Error naming the file when it cannot be read.
 */
export async function readBenignPatterns(
  file: string,
  onError: (error: BenignLineError) => void,
): Promise<BenignPatterns> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new Error(
      `cannot read benign patterns ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  return parseBenignPatterns(text, file, onError);
}
