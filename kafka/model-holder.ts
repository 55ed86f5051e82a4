import { type FSWatcher, watch } from "node:fs";
import { dirname } from "node:path";
import { type Detector, loadModel } from "../detector/index.js";

/** Quiet time after the last change in the model's directory before it is read, ms. */
export const RELOAD_DEBOUNCE_MS = 200;

/** Options of {@link createModelHolder}. */
export interface ModelHolderOptions {
  /** The model file; rereading it swaps a new model in. */
  path: string;
  /** Verdict threshold in (0, 1] for every model loaded; undefined keeps each model's own. */
  threshold?: number | undefined;
  /** Receives one line per reload that changed or failed to change the model. */
  onLog?: (level: "info" | "warn", message: string) => void;
  debounceMs?: number;
}

/**
 * The scorer's model: loaded from a file, swapped whole on `reload()` (the
 * scorer calls it on SIGHUP) or when the file changes (`watch()`). A batch
 * takes one `current()` snapshot, so it never mixes two models. A bad file is
 * rejected with a warning and the current model keeps scoring. The server's
 * `server/model-reload.ts` does the same with its logger; this one has no
 * transport or logger attached.
 */
export interface ModelHolder {
  current(): Detector;
  /** Rereads the file; resolves with the version now in use. Reloads never overlap. */
  reload(trigger: "SIGHUP" | "watch"): Promise<string>;
  /** Watches the file's directory (the trainer replaces the file by rename). */
  watch(): void;
  close(): void;
}

/**
 * Loads the model file and returns its holder.
 *
 * @throws ModelFileError when the first load fails (the scorer cannot start without a model).
 */
export async function createModelHolder(options: ModelHolderOptions): Promise<ModelHolder> {
  const { path, threshold } = options;
  const log = options.onLog ?? (() => {});
  const load = async () => {
    const d = await loadModel(path);
    return threshold === undefined ? d : d.withThreshold(threshold);
  };
  let detector = await load();
  let running: Promise<string> = Promise.resolve(detector.info.version);
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;

  const reloadOnce = async (trigger: string): Promise<string> => {
    try {
      const next = await load();
      const from = detector.info.version;
      if (next.info.version !== from || next.threshold !== detector.threshold) {
        detector = next;
        log("info", `model reloaded (${trigger}): ${from} -> ${next.info.version}`);
      }
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      log(
        "warn",
        `model reload rejected (${trigger}): ${reason}; keeping ${detector.info.version}`,
      );
    }
    return detector.info.version;
  };

  const holder: ModelHolder = {
    current: () => detector,
    reload(trigger) {
      running = running.then(() => reloadOnce(trigger));
      return running;
    },
    watch() {
      if (watcher !== undefined) return;
      // Every event in the directory counts (ConfigMap volumes swap a `..data` symlink).
      watcher = watch(dirname(path), () => {
        clearTimeout(timer);
        timer = setTimeout(
          () => void holder.reload("watch"),
          options.debounceMs ?? RELOAD_DEBOUNCE_MS,
        );
      });
      watcher.on("error", (e) => log("warn", `model file watch failed: ${e.message}`));
      watcher.unref();
    },
    close() {
      clearTimeout(timer);
      watcher?.close();
      watcher = undefined;
    },
  };
  return holder;
}
