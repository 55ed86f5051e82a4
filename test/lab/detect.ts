import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { createDetector, type ModelFile, readModelFile } from "../../detector/index.js";
import { type NetworkEvent, NetworkEventSchema } from "../../gen/netanomaly/v1/telemetry_pb.js";
import { ATTACK_NAMES } from "./attacks.js";
import { NORMAL } from "./label.js";
import { run } from "./proc.js";

const root = join(import.meta.dirname, "..", "..");

/** Detection of one label at the model's threshold. */
export interface DetectionRow {
  label: string;
  events: number;
  flagged: number;
}

/** What a model trained on one source's phase 1 made of its phase 2. */
export interface DetectionTable {
  source: string;
  trainEvents: number;
  threshold: number;
  /** Telemetry fields the model was trained with (all, unless the source lacks some). */
  fields: string[];
  /** One row per attack (in ATTACK_NAMES order), then `normal` (held-out office traffic). */
  rows: DetectionRow[];
}

/**
 * Trains a model on phase 1 (office traffic only) with the trainer's command
 * line and defaults (`trainer/main.ts --format jsonl`, the events as the
 * collector printed them), scores phase 2 with the detector and counts, per
 * label, the events at or above the model's threshold.
 *
 * @param dir where the phase-1 file and the model are written.
 */
export async function detect(
  source: string,
  phase1: readonly NetworkEvent[],
  phase2: readonly NetworkEvent[],
  labels: readonly string[],
  dir: string,
): Promise<{ table: DetectionTable; model: ModelFile; scores: Float64Array }> {
  const slug = source.replace(/[^a-z0-9]+/gi, "-");
  const data = join(dir, `phase1-${slug}.jsonl`);
  const out = join(dir, `model-${slug}.json`);
  writeFileSync(
    data,
    `${phase1.map((e) => JSON.stringify(toJson(NetworkEventSchema, e))).join("\n")}\n`,
  );
  await run(
    process.execPath,
    [
      "--import",
      "tsx",
      join(root, "trainer/main.ts"),
      "--format",
      "jsonl",
      "--data",
      data,
      "--out",
      out,
      "--quiet",
    ],
    { timeoutMs: 120_000 },
  );
  const model = await readModelFile(out);
  const detector = createDetector(model);
  const scores = new Float64Array(phase2.length);
  detector.scoreBatch(phase2, scores);
  const rows = new Map<string, DetectionRow>();
  for (const label of [...ATTACK_NAMES, NORMAL]) rows.set(label, { label, events: 0, flagged: 0 });
  phase2.forEach((_, i) => {
    const label = labels[i] as string;
    let row = rows.get(label);
    if (row === undefined) {
      row = { label, events: 0, flagged: 0 };
      rows.set(label, row);
    }
    row.events++;
    if ((scores[i] as number) >= detector.threshold) row.flagged++;
  });
  return {
    table: {
      source,
      trainEvents: model.training.rows,
      threshold: detector.threshold,
      fields: [...detector.info.fields],
      rows: [...rows.values()],
    },
    model,
    scores,
  };
}

const pct = (n: number, d: number) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(1)} %`);

/** The table as the lab prints it (and the README quotes it). */
export function formatTable(t: DetectionTable): string {
  const lines = [
    `source ${t.source}: trained on ${t.trainEvents} office events, threshold ${t.threshold.toFixed(4)}`,
    `fields: ${t.fields.join(" ")}`,
    `${"label".padEnd(20)} ${"events".padStart(7)} ${"flagged".padStart(8)} ${"share".padStart(8)}`,
  ];
  for (const r of t.rows) {
    const name = r.label === NORMAL ? "normal (held out)" : r.label;
    lines.push(
      `${name.padEnd(20)} ${String(r.events).padStart(7)} ${String(r.flagged).padStart(8)} ${pct(r.flagged, r.events).padStart(8)}`,
    );
  }
  const normal = t.rows.find((r) => r.label === NORMAL);
  if (normal)
    lines.push(
      `false-positive rate on held-out office traffic: ${pct(normal.flagged, normal.events)}`,
    );
  return lines.join("\n");
}
