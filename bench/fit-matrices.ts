import { existsSync } from "node:fs";
import { join } from "node:path";
import { featurizeTableRecord, fitTableFeatures } from "../detector/index.js";
import type { Matrix } from "../detector/isolation-forest.js";
import { createEngineFixture } from "./engine-fixture.js";
import { NSL_KDD_TEST, readNslKdd } from "./quality/nsl-kdd-data.js";

/** A matrix the fit benchmark grows forests on. */
export interface FitMatrix {
  /** "NSL-KDD" or "telemetry". */
  name: string;
  /** How it was built, for the table. */
  source: string;
  x: Matrix;
  /** Held-out rows to score, featurized the same way. */
  rows: Matrix;
}

/** Where bench/quality looks for NSL-KDD (../shared/data beside the checkout), then /work/shared. */
export function findNslKdd(root: string): string | undefined {
  for (const dir of [
    process.env.NSL_KDD_DIR,
    join(root, "..", "shared", "data", "nsl-kdd"),
    join(root, "..", "..", "shared", "data", "nsl-kdd"),
  ]) {
    if (dir && existsSync(join(dir, NSL_KDD_TEST))) return dir;
  }
  return undefined;
}

/**
 * Our telemetry features: 20,000 normal simulator events (seed 1),
 * featurized with the model trained on them, as the engine section does;
 * `scoreEvents` held-out events (seed 2, 1% attacks) to score.
 */
export function telemetryFitMatrix(scoreEvents = 10): FitMatrix {
  const fx = createEngineFixture({ trainEvents: 20_000, scoreEvents });
  return {
    name: "telemetry",
    source: `simulator, ${fx.train.nRows} events × ${fx.train.nFeatures} features`,
    x: fx.train,
    rows: fx.rows,
  };
}

/**
 * NSL-KDD's whole training file (KDDTrain+_20Percent, attacks included): the
 * 38 numeric columns and one-hot protocol_type, service and flag, as the
 * trainer featurizes them; the rows to score are KDDTest+, featurized with
 * the same spec.
 */
export async function nslKddFitMatrix(dir: string): Promise<FitMatrix> {
  const data = await readNslKdd(dir);
  const records = data.train.records;
  const spec = fitTableFeatures(
    "nsl-kdd",
    data.numeric,
    ["protocol_type", "service", "flag"],
    records,
  );
  const nf = spec.features.length;
  const featurize = (rs: readonly Record<string, string>[]): Matrix => {
    const out = new Float64Array(rs.length * nf);
    rs.forEach((r, i) => {
      featurizeTableRecord(spec, r, out, i * nf);
    });
    return { data: out, nRows: rs.length, nFeatures: nf };
  };
  return {
    name: "NSL-KDD",
    source: `KDDTrain+_20Percent, ${records.length} rows × ${nf} features`,
    x: featurize(records),
    rows: featurize(data.test.records),
  };
}
