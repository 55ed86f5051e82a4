import { type FSWatcher, watch } from "node:fs";
import { appendFile, readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { Logger } from "pino";
import { parseSuppressions, type RuleProblem, type SuppressionRule } from "./suppressions.js";

/** Quiet time after the last change to the file before it is read again, ms (as for the model). */
export const SUPPRESSIONS_DEBOUNCE_MS = 200;

/** Options for {@link openSuppressionFile}. */
export interface SuppressionFileOptions {
  path: string;
  logger: Logger;
  /** Told after each read: `ok` with the rules in force and bad lines, or `rejected` (old rules kept). */
  onLoad?(result: "ok" | "rejected", rules: number, problems: readonly RuleProblem[]): void;
  debounceMs?: number;
}

/** A suppression file, read at start and again whenever it changes. */
export interface SuppressionFile {
  readonly path: string;
  /** The rules read last. */
  rules(): readonly SuppressionRule[];
  /** Reads the file now (also done on change); resolves when the new rules are in force. */
  reload(): Promise<void>;
  /** Appends one rule line (JSON) and reloads, so it is in force when this resolves. */
  append(rule: Record<string, unknown>): Promise<string>;
  close(): void;
}

/**
 * Reads a suppression file (see `suppressions.ts` for its format) and
 * watches its directory, rereading it {@link SUPPRESSIONS_DEBOUNCE_MS}
 * after a change, as the model is. Each bad line is logged at `warn` with
 * `file:line` and what is wrong, and skipped; the other rules apply. A file
 * that cannot be read keeps the rules in force (none at start: a missing
 * file is an empty one, so `Feedback` can create it).
 */
export async function openSuppressionFile(
  options: SuppressionFileOptions,
): Promise<SuppressionFile> {
  const { path } = options;
  const log = options.logger.child({ component: "suppressions" });
  let rules: readonly SuppressionRule[] = [];
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const load = async () => {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        text = "";
      } else {
        log.warn({ path, reason: (e as Error).message }, "suppression file unreadable, rules kept");
        options.onLoad?.("rejected", rules.length, []);
        return;
      }
    }
    const parsed = parseSuppressions(text, basename(path));
    for (const p of parsed.problems) {
      log.warn({ where: p.where, reason: p.message }, "suppression rule skipped");
    }
    rules = parsed.rules;
    log.info({ path, rules: rules.length, skipped: parsed.problems.length }, "suppressions loaded");
    options.onLoad?.("ok", rules.length, parsed.problems);
  };
  const reload = () => {
    running = running.then(load, load);
    return running;
  };
  await reload();
  try {
    watcher = watch(dirname(path), (_event, name) => {
      if (name !== null && name !== basename(path)) {
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), options.debounceMs ?? SUPPRESSIONS_DEBOUNCE_MS);
    });
    watcher.on("error", (e) => log.warn({ err: e }, "watching the suppression file failed"));
  } catch (e) {
    log.warn({ path, reason: (e as Error).message }, "cannot watch the suppression file");
  }
  return {
    path,
    rules: () => rules,
    reload,
    async append(rule) {
      const line = JSON.stringify(rule);
      await appendFile(path, `${line}\n`, "utf8");
      await reload();
      return line;
    },
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
