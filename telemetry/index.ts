export { TELEMETRY_COLUMNS } from "./schema.js";
export type { TelemetryColumn } from "./schema.js";
export { CsvRowError, eventFromRecord, missingColumns, parseTimestamp, recordFromEvent } from "./event-csv.js";
export { MAX_BYTES, STRING_LIMITS, quote, validateEvent } from "./validate.js";
export type { EventViolation } from "./validate.js";
