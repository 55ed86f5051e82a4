import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "pino";
import type { Detector } from "../detector/detector.js";
import { ModelFileError } from "../detector/index.js";
import type { ModelHolder } from "./model-holder.js";
import { loadModelOffThread } from "./model-loader.js";

/** Quiet time after the last change to the model file before it is read, ms. */
export const RELOAD_DEBOUNCE_MS = 200;

/** What started a reload, as logged. */
export type ReloadTrigger = "SIGHUP" | "watch" | "manual";

/** How one reload ended. */
export type ReloadOutcome =
  | { status: "swapped"; from: string | undefined; to: string }
  | { status: "unchanged"; version: string }
  | { status: "rejected"; reason: string };

/** Options for {@link createModelReloader}. */
export interface ModelReloaderOptions {
  /** The model file to (re)load; watched by name in its directory. */
  path: string;
  /** The holder new detectors are swapped into. */
  models: ModelHolder;
  logger: Logger;
  /**
   * `--threshold` override in (0, 1], applied to every model loaded, so it
   * persists across reloads; undefined keeps each model's own threshold.
   */
  threshold?: number | undefined;
  /** See {@link RELOAD_DEBOUNCE_MS}. */
  debounceMs?: number;
  /** Told how each reload ended (metrics). */
  onOutcome?: (outcome: ReloadOutcome) => void;
  /** Largest model file, bytes (`--max-model-bytes`); default 64 MiB. */
  maxModelBytes?: number;
}

/** Loads a new model file into a {@link ModelHolder} on demand or on change. */
export interface ModelReloader {
  /**
   * Reads the model file and swaps it in if it is valid and differs from the
   * current one; a bad file is rejected with a `warn` line naming the reason
   * and the current model keeps serving. Reloads never overlap: a call made
   * while one runs waits for it, then reads the file again.
   */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome>;
  /**
   * Watches the model file's directory (not the file: the trainer replaces it
   * by `rename`, which a watch on the old inode would miss) and reloads
   * {@link RELOAD_DEBOUNCE_MS} after the last event in it.
   */
  watch(): void;
  /** Stops watching and cancels a pending debounced reload. */
  close(): void;
}

/**
 * Creates a {@link ModelReloader}. The swap goes through the holder, so each
 * request or stream batch scores with exactly one model, and responses carry
 * the new `model_version` from the first batch after the swap.
 */
export function createModelReloader(options: ModelReloaderOptions): ModelReloader {
  const { path, models, threshold } = options;
  const log = options.logger.child({ component: "model-reload" });
  const debounceMs = options.debounceMs ?? RELOAD_DEBOUNCE_MS;
  let running: Promise<ReloadOutcome> | undefined;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;

  const load = async (trigger: ReloadTrigger): Promise<ReloadOutcome> => {
    let next: Detector;
    try {
      // Read, parsed and validated on a worker thread: serving goes on meanwhile.
      next = await loadModelOffThread(
        path,
        options.maxModelBytes === undefined ? {} : { maxBytes: options.maxModelBytes },
      );
      if (threshold !== undefined) {
        next = next.withThreshold(threshold);
      }
    } catch (e) {
      if (!(e instanceof ModelFileError)) {
        log.error({ trigger, path, err: e }, "model reload failed");
        return { status: "rejected", reason: String(e) };
      }
      const current = models.current()?.info.version;
      log.warn({ trigger, path, reason: e.message, keeping: current }, "model reload rejected");
      return { status: "rejected", reason: e.message };
    }
    const previous = models.current();
    const to = next.info.version;
    if (
      previous !== undefined &&
      previous.info.version === to &&
      previous.threshold === next.threshold
    ) {
      // Watch events for other files in the directory end here: not worth an info line.
      const level = trigger === "watch" ? "debug" : "info";
      log[level]({ trigger, path, modelVersion: to }, "model unchanged");
      return { status: "unchanged", version: to };
    }
    models.swap(next);
    const from = previous?.info.version;
    log.info({ trigger, path, from, to, threshold: next.threshold }, "model reloaded");
    return { status: "swapped", from, to };
  };

  const reload = (trigger: ReloadTrigger): Promise<ReloadOutcome> => {
    const after = running ?? Promise.resolve();
    const mine = after.then(
      () => load(trigger),
      () => load(trigger),
    );
    running = mine;
    void mine.then((outcome) => options.onOutcome?.(outcome));
    void mine.finally(() => {
      if (running === mine) {
        running = undefined;
      }
    });
    return mine;
  };

  return {
    reload,
    watch() {
      if (watcher !== undefined) {
        return;
      }
      const name = basename(path);
      // Every event in the directory counts, not only those naming the file:
      // on Kubernetes ConfigMap and Secret volumes the file is a symlink
      // through `..data`, and an update renames `..data`, never the file. A
      // reread that finds the same model changes nothing.
      watcher = watch(dirname(path), () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timer = undefined;
          void reload("watch");
        }, debounceMs);
      });
      watcher.on("error", (e) => log.warn({ path, err: e }, "model file watch failed"));
      watcher.unref();
      log.debug({ dir: dirname(path), file: name }, "watching model file");
    },
    close() {
      clearTimeout(timer);
      timer = undefined;
      watcher?.close();
      watcher = undefined;
    },
  };
}
