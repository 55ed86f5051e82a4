import { createHash } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { open, stat } from "node:fs/promises";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { TAIL_FEATURES } from "./context-tails.js";
import {
  MAX_TABLE_KEYS,
  RARITY_TABLES,
  TELEMETRY_FEATURES,
  type TelemetryFeatureSpec,
} from "./features.js";
import { ALL_BUCKETS } from "./hour-profile.js";
import type { Forest, IsolationTree } from "./isolation-forest.js";
import { type TableFeatureSpec, tableFeatureNames } from "./table-features.js";

/** The model file format this build writes and reads. */
export const FORMAT_VERSION = 2;

/** How a model turns input into features. */
export type FeatureSpec = TelemetryFeatureSpec | TableFeatureSpec;

/** Training parameters, as given to the trainer. */
export interface ModelParams {
  nEstimators: number;
  /** Requested sub-sample size; the forest's own `maxSamples` is what was used. */
  maxSamples: number;
  seed: number;
  contamination: number | "auto";
  /**
   * `"per-tree"` when each tree grew from its own seed drawn from `seed`
   * (a fit in workers); absent for one stream through every tree.
   */
  seeding?: "per-tree";
}

/**
 * A model file: JSON with `formatVersion` first, then a SHA-256 `checksum` of
 * everything else (the JSON text of the object without `checksum`), then the
 * parameters, a training summary, the threshold, the feature spec and the
 * trees. It holds no wall-clock time: the same data and seed give the same
 * bytes.
 */
export interface ModelFile {
  formatVersion: number;
  checksum: string;
  params: ModelParams;
  training: {
    /** Rows the trainer read. */
    rows: number;
    /** Rows it kept (reservoir sample) to fit on. */
    sampledRows: number;
    /** Latest event time in the data, ISO 8601, or null. */
    dataEndTime: string | null;
  };
  /** Scores at or above this are anomalous; in (0, 1]. */
  threshold: number;
  featureSpec: FeatureSpec;
  /** Present on models learned from the stream; see {@link ModelLineage}. */
  lineage?: ModelLineage;
  forest: Forest;
}

/** Most trees a model may have: the trainer's `--trees` bound. */
export const MAX_TREES = 10_000;

/** Largest sub-sample size a model may have: the trainer's `--sample-size` bound. */
export const MAX_SAMPLES = 65_536;

/** Longest key of a count table or baseline, characters (two telemetry strings of ≤ 1024 and a separator fit). */
export const MAX_KEY_CHARS = 4096;

/** Most columns, and categories per column, of a table model. */
export const MAX_TABLE_COLUMNS = 4096;

/** Default largest model file read, bytes (`--max-model-bytes`). */
export const DEFAULT_MAX_MODEL_BYTES = 64 * 1024 * 1024;

/** Default longest time reading a model file may take, ms. */
export const DEFAULT_MODEL_READ_TIMEOUT_MS = 10_000;

/** Options for {@link readModelFile}. */
export interface ReadModelOptions {
  /** Refuse a file larger than this, bytes; default {@link DEFAULT_MAX_MODEL_BYTES}. */
  maxBytes?: number;
  /** Give up on a read that takes longer than this, ms; default {@link DEFAULT_MODEL_READ_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * Where a model learned from the stream (`--learn`) came from: the model it
 * replaced and the window of events it learned from. Trainer models have none.
 */
export interface ModelLineage {
  /** Version of the model this one replaced. */
  parentVersion: string;
  /** Retrains since the first model of the line: the parent's generation + 1. */
  generation: number;
  /** Earliest and latest event time in the sample it learned from, ISO 8601. */
  windowStart: string;
  windowEnd: string;
  /** What started the retrain: the schedule, drift past the retrain bound, or a call. */
  trigger: "schedule" | "drift" | "manual";
  /** Events of the sample that the model they were scored by had flagged, admitted by the guard. */
  admittedFlagged: number;
}

/** A model file that can't be used; the message names the problem. */
export class ModelFileError extends Error {
  override name = "ModelFileError";
}

/**
 * Computes the checksum and returns the model in file order.
 */
export function sealModel(model: Omit<ModelFile, "checksum" | "formatVersion">): ModelFile {
  const body = {
    formatVersion: FORMAT_VERSION,
    params: model.params,
    training: model.training,
    threshold: model.threshold,
    featureSpec: model.featureSpec,
    ...(model.lineage === undefined ? {} : { lineage: model.lineage }),
    forest: model.forest,
  };
  const checksum = sha256(JSON.stringify(body));
  const { formatVersion, ...rest } = body;
  return { formatVersion, checksum, ...rest };
}

/** Serializes a model: one line of header, one line per tree, stable bytes. */
export function serializeModel(model: ModelFile): string {
  const { forest, ...head } = model;
  const trees = forest.trees.map((t) => JSON.stringify(t)).join(",\n");
  const forestHead = JSON.stringify({
    nFeatures: forest.nFeatures,
    maxSamples: forest.maxSamples,
    maxDepth: forest.maxDepth,
  });
  return `${JSON.stringify(head).slice(0, -1)},"forest":${forestHead.slice(0, -1)},"trees":[\n${trees}\n]}}\n`;
}

/** Model version: the first 12 hex digits of the checksum. */
export function modelVersion(model: ModelFile): string {
  return model.checksum.slice(0, 12);
}

/**
 * Reads and validates a model file. Only a regular file is read (a FIFO, a
 * device such as `/dev/zero` or a directory is refused before a byte is
 * read: issue 23, items 3 and 6), at most `maxBytes` of it, within
 * `timeoutMs`; the file is opened non-blocking, so a FIFO swapped in after
 * the check cannot hold the open either.
 *
 * @throws ModelFileError naming the file and the problem: missing, not a
 *   regular file, too large, too slow, not JSON (truncated?), unknown format
 *   version, checksum mismatch, or a structural fault.
 */
export async function readModelFile(
  path: string,
  options: ReadModelOptions = {},
): Promise<ModelFile> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MODEL_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_MODEL_READ_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ModelFileError(`model file ${path}: reading it took longer than ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
  });
  let text: string;
  try {
    text = await Promise.race([readBounded(path, maxBytes), late]);
  } finally {
    clearTimeout(timer);
  }
  try {
    return parseModel(text);
  } catch (e) {
    if (e instanceof ModelFileError) throw new ModelFileError(`model file ${path}: ${e.message}`);
    throw e;
  }
}

/** What a non-regular file is, for messages. */
function kindOf(st: Stats): string {
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isDirectory()) return "a directory";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/** Checks `st` is a regular file of at most `maxBytes`. */
function checkFile(path: string, st: Stats, maxBytes: number): void {
  if (!st.isFile()) {
    throw new ModelFileError(`model file ${path} is ${kindOf(st)}, not a regular file: refused`);
  }
  if (st.size > maxBytes) {
    throw new ModelFileError(
      `model file ${path} has ${st.size} bytes, more than the limit of ${maxBytes} (--max-model-bytes)`,
    );
  }
}

async function readBounded(path: string, maxBytes: number): Promise<string> {
  const failed = (e: unknown): never => {
    if (e instanceof ModelFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(
      code === "ENOENT"
        ? `model file ${path} does not exist`
        : `cannot read model file ${path}: ${code ?? String(e)}`,
    );
  };
  try {
    checkFile(path, await stat(path), maxBytes);
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const st = await handle.stat();
      checkFile(path, st, maxBytes);
      // One byte more than allowed tells a file that grew since the check.
      const buffer = Buffer.allocUnsafe(Math.min(st.size, maxBytes) + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length > maxBytes) {
          throw new ModelFileError(
            `model file ${path} is larger than the limit of ${maxBytes} bytes (--max-model-bytes)`,
          );
        }
        if (length === buffer.length) break; // grew: the parse fails on a cut file, or the check above
      }
      return buffer.toString("utf8", 0, length);
    } finally {
      await handle.close();
    }
  } catch (e) {
    return failed(e);
  }
}

/**
 * Parses and validates model JSON.
 *
 * @throws ModelFileError naming the problem.
 */
export function parseModel(text: string): ModelFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(
      `not valid JSON, the file is truncated or corrupt (${(e as Error).message})`,
    );
  }
  if (!isObject(raw) || !("formatVersion" in raw)) {
    throw new ModelFileError("not a netanomaly model: no formatVersion");
  }
  if (raw.formatVersion !== FORMAT_VERSION) {
    throw new ModelFileError(
      `format version ${JSON.stringify(raw.formatVersion)} is not supported; this build reads version ${FORMAT_VERSION} (retrain with npm run train)`,
    );
  }
  const { checksum, ...body } = raw;
  const computed = sha256(JSON.stringify(body));
  if (checksum !== computed) {
    throw new ModelFileError(
      `checksum mismatch, the file is corrupt or was edited (stored ${String(checksum).slice(0, 16)}, computed ${computed.slice(0, 16)})`,
    );
  }
  const model = raw as unknown as ModelFile;
  validateStructure(model);
  return model;
}

function validateStructure(m: ModelFile): void {
  const fail = (what: string): never => {
    throw new ModelFileError(what);
  };
  const p = m.params;
  if (!isObject(p)) fail("params is missing");
  if (!isIntIn(p.nEstimators, 1, MAX_TREES))
    fail(`params.nEstimators must be an integer in [1, ${MAX_TREES}], got ${show(p.nEstimators)}`);
  if (!isIntIn(p.maxSamples, 1, MAX_SAMPLES))
    fail(`params.maxSamples must be an integer in [1, ${MAX_SAMPLES}], got ${show(p.maxSamples)}`);
  if (!Number.isSafeInteger(p.seed) || p.seed < 0)
    fail(`params.seed must be a non-negative integer, got ${show(p.seed)}`);
  if (
    p.contamination !== "auto" &&
    !(typeof p.contamination === "number" && p.contamination > 0 && p.contamination <= 0.5)
  ) {
    fail(`params.contamination must be in (0, 0.5] or "auto", got ${show(p.contamination)}`);
  }
  if (p.seeding !== undefined && p.seeding !== "per-tree")
    fail(`params.seeding must be "per-tree" or absent, got ${show(p.seeding)}`);
  if (!(typeof m.threshold === "number" && m.threshold > 0 && m.threshold <= 1)) {
    fail(`threshold must be in (0, 1], got ${show(m.threshold)}`);
  }
  const tr = m.training;
  if (!isObject(tr)) fail("training summary is missing");
  if (!isIntIn(tr.rows, 0, Number.MAX_SAFE_INTEGER))
    fail(`training.rows must be a non-negative integer, got ${show(tr.rows)}`);
  if (!isIntIn(tr.sampledRows, 0, tr.rows))
    fail(
      `training.sampledRows must be an integer in [0, training.rows], got ${show(tr.sampledRows)}`,
    );
  if (
    tr.dataEndTime !== null &&
    !(
      typeof tr.dataEndTime === "string" &&
      tr.dataEndTime.length <= 64 &&
      Number.isFinite(Date.parse(tr.dataEndTime))
    )
  ) {
    fail(`training.dataEndTime must be an ISO 8601 time or null, got ${show(tr.dataEndTime)}`);
  }
  const spec = m.featureSpec;
  if (!isObject(spec)) fail("featureSpec is missing");
  if (spec.kind === "telemetry") {
    validateTelemetrySpec(spec as unknown as Record<string, unknown>, fail);
    if (spec.tails !== undefined) {
      const tails: unknown = spec.tails;
      if (
        !Array.isArray(tails) ||
        tails.length !== TAIL_FEATURES.length ||
        tails.some(
          (t) =>
            !Array.isArray(t) ||
            t.length !== 2 ||
            !Number.isFinite(t[0]) ||
            !(Number.isFinite(t[1]) && t[1] > 0),
        )
      ) {
        fail(
          `featureSpec.tails must hold ${TAIL_FEATURES.length} [max, scale > 0] pairs (${TAIL_FEATURES.join(", ")})`,
        );
      }
    }
    if (spec.fields !== undefined) {
      const known = NetworkEventSchema.fields.map((x) => x.name);
      const fields: unknown = spec.fields;
      if (
        !Array.isArray(fields) ||
        fields.length === 0 ||
        fields.some((x) => typeof x !== "string" || !known.includes(x)) ||
        new Set(fields).size !== fields.length
      ) {
        fail(
          `featureSpec.fields must list distinct NetworkEvent fields (${known.join(", ")}), got ${JSON.stringify(fields)?.slice(0, 200)}`,
        );
      }
    }
  } else if (spec.kind === "table") {
    validateTableSpec(spec as unknown as Record<string, unknown>, fail);
  } else {
    fail(`featureSpec.kind ${show((spec as { kind?: unknown }).kind)} is unknown`);
  }
  if (m.lineage !== undefined) {
    const l = m.lineage;
    if (
      !isObject(l) ||
      typeof l.parentVersion !== "string" ||
      !Number.isSafeInteger(l.generation) ||
      typeof l.windowStart !== "string" ||
      typeof l.windowEnd !== "string"
    ) {
      fail("lineage must hold parentVersion, generation, windowStart and windowEnd");
    }
  }
  const f = m.forest;
  if (!isObject(f) || !Array.isArray(f.trees)) fail("forest.trees is missing");
  if (f.nFeatures !== spec.features.length) {
    fail(`forest has ${f.nFeatures} features, featureSpec lists ${spec.features.length}`);
  }
  if (!isIntIn(f.maxSamples, 2, MAX_SAMPLES))
    fail(`forest.maxSamples must be an integer in [2, ${MAX_SAMPLES}], got ${show(f.maxSamples)}`);
  if (f.maxDepth !== Math.ceil(Math.log2(f.maxSamples))) {
    fail(`forest.maxDepth is ${f.maxDepth}, expected ceil(log2(${f.maxSamples}))`);
  }
  if (f.trees.length !== p.nEstimators)
    fail(`forest has ${f.trees.length} trees, params say ${p.nEstimators}`);
  f.trees.forEach((t, i) => {
    const problem = treeProblem(t, f.nFeatures, f.maxDepth, f.maxSamples);
    if (problem) fail(`tree ${i}: ${problem}`);
  });
}

function treeProblem(
  t: IsolationTree,
  nFeatures: number,
  maxDepth: number,
  maxSamples: number,
): string | undefined {
  const arrays = [t?.feature, t?.threshold, t?.right, t?.size, t?.low, t?.high];
  if (!isObject(t) || !arrays.every(Array.isArray)) {
    return "needs arrays feature, threshold, right, size, low, high";
  }
  const n = t.feature.length;
  // A tree grown on ψ points has at most 2ψ - 1 nodes.
  if (n > 2 * maxSamples - 1)
    return `has ${n} nodes, at most ${2 * maxSamples - 1} fit ${maxSamples} points`;
  if (n === 0 || arrays.some((a) => a.length !== n)) {
    return "feature, threshold, right, size, low and high differ in length";
  }
  if (t.size[0] !== maxSamples) return `root holds ${t.size[0]} points, expected ${maxSamples}`;
  // Walk the preorder: every node is visited exactly once, within the height limit.
  let next = 0;
  const visit = (i: number, depth: number): string | undefined => {
    if (i !== next) return `node ${i} is out of preorder`;
    next++;
    if (depth > maxDepth) return `node ${i} is deeper than the height limit ${maxDepth}`;
    const feature = t.feature[i] as number;
    const size = t.size[i] as number;
    if (!Number.isInteger(size) || size < 0) return `node ${i} has size ${size}`;
    if (feature === -1) return undefined;
    if (!Number.isInteger(feature) || feature < 0 || feature >= nFeatures) {
      return `node ${i} splits on feature ${feature}, model has ${nFeatures}`;
    }
    const threshold = t.threshold[i] as number;
    const low = t.low[i] as number;
    const high = t.high[i] as number;
    if (![threshold, low, high].every((v) => typeof v === "number" && Number.isFinite(v)))
      return `node ${i} has no finite threshold, low and high`;
    if (!(low < threshold && threshold <= high))
      return `node ${i}: threshold ${threshold} is not in (low ${low}, high ${high}]`;
    const right = t.right[i] as number;
    if (!Number.isInteger(right) || right <= i + 1 || right >= n)
      return `node ${i} has right child ${right}`;
    if ((t.size[i + 1] as number) + (t.size[right] as number) !== size)
      return `node ${i}: children sizes do not add up`;
    return (
      visit(i + 1, depth + 1) ??
      (next === right ? visit(right, depth + 1) : `node ${right} is out of preorder`)
    );
  };
  const problem = visit(0, 0);
  if (problem) return problem;
  if (next !== n) return `${n - next} nodes are unreachable`;
  return undefined;
}

type Fail = (what: string) => never;

/** Every field of a telemetry feature spec, by type and range (issue 23, item 7). */
function validateTelemetrySpec(spec: Record<string, unknown>, fail: Fail): void {
  if (JSON.stringify(spec.features) !== JSON.stringify(TELEMETRY_FEATURES)) {
    fail(
      `featureSpec lists features [${String(spec.features)}], this build computes [${TELEMETRY_FEATURES.join(",")}]`,
    );
  }
  const rows = spec.rows;
  if (!isIntIn(rows, 1, Number.MAX_SAFE_INTEGER))
    fail(`featureSpec.rows must be a positive integer, got ${show(rows)}`);
  const n = rows as number;
  const tables = spec.tables;
  if (!isObject(tables)) fail("featureSpec.tables is missing");
  for (const t of RARITY_TABLES) {
    const table = (tables as Record<string, unknown>)[t];
    if (!Array.isArray(table)) fail(`featureSpec.tables.${t} is missing`);
    const entries = table as unknown[];
    if (entries.length > MAX_TABLE_KEYS)
      fail(`featureSpec.tables.${t} has ${entries.length} keys, at most ${MAX_TABLE_KEYS}`);
    entries.forEach((entry, i) => {
      if (
        !Array.isArray(entry) ||
        entry.length !== 2 ||
        !isKey(entry[0]) ||
        !isIntIn(entry[1], 1, n)
      ) {
        fail(
          `featureSpec.tables.${t}[${i}] must be [key of ≤ ${MAX_KEY_CHARS} characters, count in [1, rows ${n}]], got ${show(entry)}`,
        );
      }
    });
  }
  // Added after version 2's first files, which lack it: optional.
  if (spec.hourCoverage !== undefined) {
    const coverage: unknown = spec.hourCoverage;
    if (!Array.isArray(coverage) || coverage.length > MAX_TABLE_KEYS)
      fail(`featureSpec.hourCoverage must be a list of at most ${MAX_TABLE_KEYS} entries`);
    (coverage as unknown[]).forEach((entry, i) => {
      const ok =
        Array.isArray(entry) &&
        entry.length === 2 &&
        isKey(entry[0]) &&
        isIntIn(entry[1], 1, ALL_BUCKETS - 1);
      if (!ok)
        fail(
          `featureSpec.hourCoverage[${i}] must be [process, bucket mask in [1, ${ALL_BUCKETS - 1}]], got ${show(entry)}`,
        );
    });
  }
  const baselines = spec.baselines;
  if (!Array.isArray(baselines)) fail("featureSpec.baselines is missing");
  // One per process and per process and port with ≥ 10 rows, and the global one.
  const most = Math.floor(n / 5) + 1;
  if ((baselines as unknown[]).length > most)
    fail(
      `featureSpec.baselines has ${(baselines as unknown[]).length} entries, at most ${most} for ${n} rows`,
    );
  (baselines as unknown[]).forEach((entry, i) => {
    const b = Array.isArray(entry) ? entry[1] : undefined;
    const ok =
      Array.isArray(entry) &&
      entry.length === 2 &&
      isKey(entry[0]) &&
      Array.isArray(b) &&
      b.length === 5 &&
      isIntIn(b[0], 1, n) &&
      // Means and spreads of log1p(bytes): finite, in [0, 45] (log1p(2^64) ≈ 44.4).
      b.slice(1).every((v: unknown) => typeof v === "number" && v >= 0 && v <= 45);
    if (!ok) {
      fail(
        `featureSpec.baselines[${i}] must be [key, [n in [1, rows ${n}], sentMean, sentSd, recvMean, recvSd in [0, 45]]], got ${show(entry)}`,
      );
    }
  });
}

/** Every field of a table feature spec, by type and range. */
function validateTableSpec(spec: Record<string, unknown>, fail: Fail): void {
  if (typeof spec.format !== "string" || spec.format.length === 0 || spec.format.length > 64)
    fail(`featureSpec.format must be a name of 1 to 64 characters, got ${show(spec.format)}`);
  const columns = spec.columns;
  if (!Array.isArray(columns) || columns.length === 0 || columns.length > MAX_TABLE_COLUMNS)
    fail(`featureSpec.columns must list 1 to ${MAX_TABLE_COLUMNS} columns`);
  (columns as unknown[]).forEach((c, i) => {
    const ok =
      isObject(c) &&
      isName(c.name) &&
      (c.type === "numeric" ||
        (c.type === "onehot" &&
          Array.isArray(c.categories) &&
          c.categories.length <= MAX_TABLE_COLUMNS &&
          c.categories.every((x: unknown) => typeof x === "string" && x.length <= MAX_KEY_CHARS)));
    if (!ok) fail(`featureSpec.columns[${i}] is not a numeric or onehot column: ${show(c)}`);
  });
  if (
    !Array.isArray(spec.features) ||
    JSON.stringify(tableFeatureNames(columns as TableFeatureSpec["columns"])) !==
      JSON.stringify(spec.features)
  ) {
    fail("featureSpec.columns do not match featureSpec.features");
  }
}

function isKey(v: unknown): v is string {
  return typeof v === "string" && v.length <= MAX_KEY_CHARS;
}

function isName(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= 256;
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
}

/** A value for a message: JSON, cut to 80 characters. */
function show(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

// biome-ignore lint/suspicious/noExplicitAny: validation reads untyped JSON field by field.
function isObject(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
