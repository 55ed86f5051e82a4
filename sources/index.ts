export type { Collected } from "./collect-events.js";
export { collectEvents } from "./collect-events.js";
export { readCsvRows } from "./csv-rows.js";
export { FOLLOW_POLL_MS, followLines } from "./follow.js";
export type {
  HostCollector,
  HostCollectorOptions,
  HostCollectorStats,
} from "./host/host-source.js";
export { createHostCollector } from "./host/host-source.js";
export type { LabelTable, WithLabelsOptions } from "./labels.js";
export { readLabels, withLabels } from "./labels.js";
export type { Line } from "./lines.js";
export { MAX_LINE_BYTES, readLines, splitLines } from "./lines.js";
export { FILE_SOURCE_NAMES, SOURCE_NAMES, SOURCES, sourceNamed } from "./registry.js";
export type {
  Source,
  SourceContext,
  SourceEvent,
  SourceOptions,
  SourceProblem,
} from "./source.js";
