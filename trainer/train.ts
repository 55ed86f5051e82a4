import {
  featurizeTableRecord,
  fitTableFeatures,
  type ModelFile,
  type ModelParams,
  trainModel,
  trainModelInWorkers,
  trainOnMatrix,
  trainOnMatrixInWorkers,
} from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { NSL_KDD_FEATURE_SETS, type NslKddFeatureSet } from "./nsl-kdd.js";

/**
 * Trains a telemetry model on a sample of events.
 *
 * @param totalRows good rows in the file the sample came from.
 * @param dataEndTimeMs latest event time in the whole file, ms since the epoch.
 * @param fitWorkers worker threads growing the forest; undefined: the calling thread.
 */
export async function trainTelemetry(
  events: readonly NetworkEvent[],
  params: ModelParams,
  totalRows: number,
  dataEndTimeMs?: number,
  fitWorkers?: number,
): Promise<ModelFile> {
  const { seeding: _, ...rest } = params;
  const options = {
    ...rest,
    totalRows,
    ...(dataEndTimeMs === undefined ? {} : { dataEndTimeMs }),
  };
  return fitWorkers === undefined
    ? trainModel(events, options)
    : trainModelInWorkers(events, { ...options, fitWorkers });
}

/**
 * Trains an NSL-KDD model: fits the table spec of the chosen feature set on
 * the records (one-hot vocabularies come from them), featurizes them into
 * one matrix and grows the forest. The model file has featureSpec kind "table".
 *
 * @param totalRows good rows in the file the sample came from.
 * @param fitWorkers worker threads growing the forest; undefined: the calling thread.
 */
export async function trainNslKdd(
  records: readonly Readonly<Record<string, string>>[],
  features: NslKddFeatureSet,
  params: ModelParams,
  totalRows: number,
  fitWorkers?: number,
): Promise<ModelFile> {
  if (records.length < 2)
    throw new RangeError(`need at least 2 rows to train, got ${records.length}`);
  const set = NSL_KDD_FEATURE_SETS[features];
  const spec = fitTableFeatures("nsl-kdd", set.numeric, set.onehot, records);
  const nFeatures = spec.features.length;
  const data = new Float64Array(records.length * nFeatures);
  records.forEach((r, i) => {
    featurizeTableRecord(spec, r, data, i * nFeatures);
  });
  const x = { data, nRows: records.length, nFeatures };
  const training = { rows: totalRows, dataEndTime: null };
  return fitWorkers === undefined
    ? trainOnMatrix(x, spec, params, training)
    : trainOnMatrixInWorkers(x, spec, params, training, fitWorkers);
}
