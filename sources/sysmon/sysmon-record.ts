/**
 * One Windows event as the Sysmon reader needs it, from JSON or XML alike.
 * Field names are Sysmon's own (https://learn.microsoft.com/en-us/sysinternals/downloads/sysmon#events).
 */
export interface SysmonRecord {
  /** `EventID`: 1 process creation, 3 network connection, 22 DNS query, … */
  eventId: number;
  /** `Provider Name`, when the record names it (`Microsoft-Windows-Sysmon`). */
  provider: string | undefined;
  /** `EventData` by `Data Name`, values as text. */
  data: Record<string, string>;
  /** `TimeCreated SystemTime` or `@timestamp`, for events without `UtcTime`. */
  time: string | undefined;
}

/** True when the provider is Sysmon's (Windows or Linux) or unnamed. */
export function isSysmonProvider(provider: string | undefined): boolean {
  return provider === undefined || provider === "" || /sysmon/i.test(provider);
}

/**
 * A Sysmon event in the JSON shape winlogbeat and Elastic Agent write
 * (https://www.elastic.co/guide/en/beats/winlogbeat/current/exported-fields-winlog.html):
 * `winlog.event_id` (a number, or a string in newer versions),
 * `winlog.provider_name`, `winlog.event_data` with Sysmon's `Data` names,
 * and `@timestamp`. A flatter export (`EventID` and `EventData` or the data
 * at the top level, as NXLog writes) reads the same.
 *
 * @returns the record, or a message when the object is not a Windows event.
 */
export function sysmonFromJson(obj: Record<string, unknown>): SysmonRecord | string {
  const winlog = obj.winlog as Record<string, unknown> | undefined;
  const w = typeof winlog === "object" && winlog !== null ? winlog : obj;
  const rawId = w.event_id ?? w.EventID ?? obj.EventID ?? obj.event_id;
  const eventId = typeof rawId === "number" ? rawId : Number(rawId);
  if (rawId === undefined || !Number.isInteger(eventId))
    return "no winlog.event_id: not a Windows event";
  const dataObj = w.event_data ?? w.EventData ?? obj.EventData ?? obj.event_data ?? obj;
  const data: Record<string, string> = {};
  if (typeof dataObj === "object" && dataObj !== null)
    for (const [k, v] of Object.entries(dataObj))
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean")
        data[k] = String(v);
  const provider = w.provider_name ?? obj.SourceName ?? obj.ProviderName;
  const time = obj["@timestamp"] ?? obj.EventTime ?? obj.TimeCreated;
  return {
    eventId,
    provider: typeof provider === "string" ? provider : undefined,
    data,
    time: typeof time === "string" ? time : undefined,
  };
}
