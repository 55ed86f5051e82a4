import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ModelFile, modelVersion, readModelFile, serializeModel } from "../detector/index.js";

/** Learned models kept on disk of each kind (promoted, refused); older ones are removed. */
export const KEEP_MODELS = 10;

const NAME = /^(learned|refused)-(\d{6,})-([0-9a-f]{12})\.model\.json$/;

/** A learned model found on disk. */
export interface StoredModel {
  path: string;
  model: ModelFile;
  sequence: number;
}

/**
 * Where `--learn` keeps its models: `learned-<seq>-<version>.model.json` for
 * promoted ones, `refused-<seq>-<version>.model.json` (with a
 * `.reason.json` beside it) for models the safety check refused, kept for
 * inspection. Files are written to a temporary name and renamed, so a crash
 * never leaves half a model under a real name.
 */
export interface ModelStore {
  readonly dir: string;
  /** Writes a promoted model; returns its path. */
  saveLearned(model: ModelFile): Promise<string>;
  /** Writes a refused model and why; returns its path. */
  saveRefused(model: ModelFile, reason: Record<string, unknown>): Promise<string>;
  /**
   * The newest promoted model that reads and validates; a bad file is
   * reported through `onSkip` and the next older one is tried.
   */
  newestGood(onSkip: (path: string, message: string) => void): Promise<StoredModel | undefined>;
}

/** Opens (and creates) a {@link ModelStore} in `dir`. */
export async function openModelStore(dir: string): Promise<ModelStore> {
  await mkdir(dir, { recursive: true });
  const list = async () =>
    (await readdir(dir))
      .map((name) => ({ name, m: NAME.exec(name) }))
      .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
      .map(({ name, m }) => ({ name, kind: m[1] as string, sequence: Number(m[2]) }))
      .sort((a, b) => b.sequence - a.sequence);
  let next = ((await list())[0]?.sequence ?? 0) + 1;

  const write = async (path: string, text: string) => {
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, text);
    await rename(tmp, path);
  };
  const prune = async (kind: string) => {
    const old = (await list()).filter((f) => f.kind === kind).slice(KEEP_MODELS);
    for (const f of old) {
      await rm(join(dir, f.name), { force: true });
      await rm(join(dir, f.name.replace(/\.model\.json$/, ".reason.json")), { force: true });
    }
  };
  const save = async (kind: string, model: ModelFile) => {
    const seq = next++;
    const path = join(
      dir,
      `${kind}-${String(seq).padStart(6, "0")}-${modelVersion(model)}.model.json`,
    );
    await write(path, serializeModel(model));
    return path;
  };

  return {
    dir,
    async saveLearned(model) {
      const path = await save("learned", model);
      await prune("learned");
      return path;
    },
    async saveRefused(model, reason) {
      const path = await save("refused", model);
      await write(
        path.replace(/\.model\.json$/, ".reason.json"),
        `${JSON.stringify(reason, null, 2)}\n`,
      );
      await prune("refused");
      return path;
    },
    async newestGood(onSkip) {
      for (const f of await list()) {
        if (f.kind !== "learned") continue;
        const path = join(dir, f.name);
        try {
          return { path, model: await readModelFile(path), sequence: f.sequence };
        } catch (e) {
          onSkip(path, (e as Error).message);
        }
      }
      return undefined;
    },
  };
}
