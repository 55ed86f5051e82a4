/**
 * The telemetry schema our users send: the CSV header of the prototype's
 * `network_traffic_data.csv`, and the field names of `NetworkEvent`.
 */
export const TELEMETRY_COLUMNS = [
  "timestamp",
  "process_path",
  "process_hash",
  "source_ip",
  "dest_ip",
  "dest_domain",
  "dest_port",
  "bytes_sent",
  "bytes_recv",
  "protocol",
  "dns_query",
  "parent_process",
  "user_context",
] as const;

/** One column name of the telemetry schema. */
export type TelemetryColumn = (typeof TELEMETRY_COLUMNS)[number];
