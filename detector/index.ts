export type { CompiledForest } from "./compiled-forest.js";
export { compileForest, expectedPathLengths } from "./compiled-forest.js";
export { createDetector, loadModel } from "./create-detector.js";
export type { Contribution, Detector, ExplainedScore, ModelInfo } from "./detector.js";
export type { Featurizer, TelemetryFeatureSpec } from "./features.js";
export {
  createTelemetryFeaturizer,
  dnsFeatures,
  fitTelemetryFeatures,
  isInternalIp,
  RARITY_TABLES,
  TELEMETRY_FEATURES,
} from "./features.js";
export type { FitOptions, Forest, IsolationTree, Matrix, Seeding } from "./isolation-forest.js";
export { fitForest, pathLength, scoreFromPathSum, scoreRowReference } from "./isolation-forest.js";
export type { FeatureSpec, ModelFile, ModelLineage, ModelParams } from "./model-file.js";
export {
  FORMAT_VERSION,
  ModelFileError,
  modelVersion,
  parseModel,
  readModelFile,
  sealModel,
  serializeModel,
} from "./model-file.js";
export type { FitPool, ParallelFitOptions } from "./parallel-fit.js";
export { createFitPool, fitForestInWorkers, MAX_FIT_WORKERS } from "./parallel-fit.js";
export { averagePathLength } from "./path-length.js";
export type { Random } from "./random.js";
export { createRandom } from "./random.js";
export type { TableColumn, TableFeatureSpec } from "./table-features.js";
export { featurizeTableRecord, fitTableFeatures, tableFeatureNames } from "./table-features.js";
export { calibrateThreshold } from "./threshold.js";
export type { TrainingSummary, TrainOptions } from "./train.js";
export {
  resolveParams,
  trainModel,
  trainModelInWorkers,
  trainOnMatrix,
  trainOnMatrixInWorkers,
} from "./train.js";
