import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { TAIL_FEATURES } from "./context-tails.js";
import { RARITY_TABLES, TELEMETRY_FEATURES, type TelemetryFeatureSpec } from "./features.js";
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
 * Reads and validates a model file.
 *
 * @throws ModelFileError naming the file and the problem: missing, not JSON
 *   (truncated?), unknown format version, checksum mismatch, or a structural fault.
 */
export async function readModelFile(path: string): Promise<ModelFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(
      code === "ENOENT"
        ? `model file ${path} does not exist`
        : `cannot read model file ${path}: ${code ?? String(e)}`,
    );
  }
  try {
    return parseModel(text);
  } catch (e) {
    if (e instanceof ModelFileError) throw new ModelFileError(`model file ${path}: ${e.message}`);
    throw e;
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
  if (!isPositiveInt(p.nEstimators))
    fail(`params.nEstimators must be a positive integer, got ${p.nEstimators}`);
  if (!isPositiveInt(p.maxSamples))
    fail(`params.maxSamples must be a positive integer, got ${p.maxSamples}`);
  if (!Number.isSafeInteger(p.seed) || p.seed < 0)
    fail(`params.seed must be a non-negative integer, got ${p.seed}`);
  if (
    p.contamination !== "auto" &&
    !(typeof p.contamination === "number" && p.contamination > 0 && p.contamination <= 0.5)
  ) {
    fail(`params.contamination must be in (0, 0.5] or "auto", got ${p.contamination}`);
  }
  if (!(typeof m.threshold === "number" && m.threshold > 0 && m.threshold <= 1)) {
    fail(`threshold must be in (0, 1], got ${m.threshold}`);
  }
  if (!isObject(m.training) || !Number.isSafeInteger(m.training.rows))
    fail("training summary is missing");
  const spec = m.featureSpec;
  if (!isObject(spec)) fail("featureSpec is missing");
  if (spec.kind === "telemetry") {
    if (JSON.stringify(spec.features) !== JSON.stringify(TELEMETRY_FEATURES)) {
      fail(
        `featureSpec lists features [${String(spec.features)}], this build computes [${TELEMETRY_FEATURES.join(",")}]`,
      );
    }
    for (const t of RARITY_TABLES)
      if (!Array.isArray(spec.tables?.[t])) fail(`featureSpec.tables.${t} is missing`);
    if (!Array.isArray(spec.baselines)) fail("featureSpec.baselines is missing");
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
    if (
      !Array.isArray(spec.columns) ||
      JSON.stringify(tableFeatureNames(spec.columns)) !== JSON.stringify(spec.features)
    ) {
      fail("featureSpec.columns do not match featureSpec.features");
    }
  } else {
    fail(`featureSpec.kind ${JSON.stringify((spec as { kind?: unknown }).kind)} is unknown`);
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
  if (!isPositiveInt(f.maxSamples) || f.maxSamples < 2)
    fail(`forest.maxSamples must be ≥ 2, got ${f.maxSamples}`);
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

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

// biome-ignore lint/suspicious/noExplicitAny: validation reads untyped JSON field by field.
function isObject(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isPositiveInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) > 0;
}
