import {
  featurizeTableRecord,
  fitTableFeatures,
  type ModelFile,
  type ModelParams,
  trainModel,
  trainOnMatrix,
} from "../detector/index.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { NSL_KDD_FEATURE_SETS, type NslKddFeatureSet } from "./nsl-kdd.js";

/**
 * Trains a telemetry model on a sample of events.
 *
 * @param totalRows good rows in the file the sample came from.
 * @param dataEndTimeMs latest event time in the whole file, ms since the epoch.
 */
export function trainTelemetry(
  events: readonly NetworkEvent[],
  params: ModelParams,
  totalRows: number,
  dataEndTimeMs?: number,
): ModelFile {
  return trainModel(events, {
    ...params,
    totalRows,
    ...(dataEndTimeMs === undefined ? {} : { dataEndTimeMs }),
  });
}

/**
 * Trains an NSL-KDD model: fits the table spec of the chosen feature set on
 * the records (one-hot vocabularies come from them), featurizes them into
 * one matrix and grows the forest. The model file has featureSpec kind "table".
 *
 * @param totalRows good rows in the file the sample came from.
 */
export function trainNslKdd(
  records: readonly Readonly<Record<string, string>>[],
  features: NslKddFeatureSet,
  params: ModelParams,
  totalRows: number,
): ModelFile {
  if (records.length < 2)
    throw new RangeError(`need at least 2 rows to train, got ${records.length}`);
  const set = NSL_KDD_FEATURE_SETS[features];
  const spec = fitTableFeatures("nsl-kdd", set.numeric, set.onehot, records);
  const nFeatures = spec.features.length;
  const data = new Float64Array(records.length * nFeatures);
  records.forEach((r, i) => {
    featurizeTableRecord(spec, r, data, i * nFeatures);
  });
  return trainOnMatrix({ data, nRows: records.length, nFeatures }, spec, params, {
    rows: totalRows,
    dataEndTime: null,
  });
}
