export {
  CsvRowError,
  eventFromRecord,
  missingColumns,
  parseTimestamp,
  recordFromEvent,
} from "./event-csv.js";
export type { TelemetryColumn } from "./schema.js";
export { TELEMETRY_COLUMNS } from "./schema.js";
export type { EventViolation } from "./validate.js";
export { MAX_BYTES, quote, STRING_LIMITS, validateEvent } from "./validate.js";
