/**
 * The alerts room: anomalies become alerts (with a stable id, de-duplicated
 * in a window, silenced by suppression rules from a hot-reloaded file) on a
 * JSONL file, a webhook and syslog; and Feedback, a person's verdict on an
 * alert. Imports `gen/` and `detector/` types, never `server/`.
 */

export type { Alert, AlertPattern, AnomalyInput } from "./alert.js";
export { alertIdOf, buildAlert, PATTERN_FEATURES, patternKey, patternOf } from "./alert.js";
export type {
  Alerter,
  AlerterOptions,
  AlertReport,
  FeedbackInput,
  FeedbackResult,
} from "./alerter.js";
export { createAlerter, FeedbackError, MAX_ALERT_ID, MAX_REASON } from "./alerter.js";
export type { DeliveryQueue, DeliveryQueueOptions, DeliveryReport } from "./delivery-queue.js";
export { createDeliveryQueue } from "./delivery-queue.js";
export { createFileOutput } from "./file-output.js";
export type { AlertOutput } from "./output.js";
export type { SuppressionFile, SuppressionFileOptions } from "./suppression-file.js";
export { openSuppressionFile, SUPPRESSIONS_DEBOUNCE_MS } from "./suppression-file.js";
export type { RuleProblem, SuppressionRule } from "./suppressions.js";
export { findSuppression, MATCH_FIELDS, parseSuppressions } from "./suppressions.js";
export type { SyslogOutputOptions, SyslogTarget } from "./syslog-output.js";
export { createSyslogOutput, formatSyslog, parseSyslogTarget } from "./syslog-output.js";
export type { WebhookOutputOptions } from "./webhook-output.js";
export { createWebhookOutput, SIGNATURE_HEADER, signBody } from "./webhook-output.js";
