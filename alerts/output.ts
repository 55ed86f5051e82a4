import type { Alert } from "./alert.js";

/** Where alerts go: a file, a webhook, syslog. */
export interface AlertOutput {
  /** `file`, `webhook` or `syslog`: the `output` label of the alert counters. */
  readonly name: string;
  /** Hands over one alert; delivery (and its counting) happens in the background. */
  send(alert: Alert): void;
  /** Delivers what it can within `deadlineMs`, then releases its resources. */
  close(deadlineMs: number): Promise<void>;
}
