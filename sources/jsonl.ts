import { fromJson } from "@bufbuild/protobuf";
import { type NetworkEvent, NetworkEventSchema } from "../gen/netanomaly/v1/telemetry_pb.js";
import { TELEMETRY_COLUMNS } from "../telemetry/schema.js";
import { readLines } from "./lines.js";
import type { Source, SourceEvent } from "./source.js";

/**
 * Events one per line in the proto's JSON mapping (`{"processPath": …}`),
 * as `--print` writes them and as Kafka carries them. A line may carry a
 * `label` (and `scenario`) beside the event's fields: `{"event": {…},
 * "label": "normal"}` or the event's fields at the top level with `"label"`.
 * A summary line (an object with `sent`) that `--print --json` ends with is
 * not an event and is passed over.
 */
export const jsonlSource: Source = {
  name: "jsonl",
  description: "NetworkEvent JSON lines, as --print writes them (--input FILE or -)",
  kind: "file",
  fields: TELEMETRY_COLUMNS,
  open(options, ctx) {
    const input = options.input;
    if (input === undefined) throw new Error("--source jsonl needs --input FILE (or - for stdin)");
    return {
      async *[Symbol.asyncIterator](): AsyncGenerator<SourceEvent> {
        for await (const { text, line, where } of readLines(input, options, ctx)) {
          if (text.trim() === "") continue;
          const parsed = parseLine(text);
          if (typeof parsed === "string") {
            ctx.onSkip({ where: `${where}:${line}`, message: parsed });
            continue;
          }
          if (parsed !== null) yield parsed;
        }
      },
    };
  },
};

/** @returns the event, null for a summary line, or what was wrong. */
export function parseLine(text: string): SourceEvent | null | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return `not JSON (${(e as Error).message.slice(0, 80)})`;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "not a JSON object";
  const obj = value as Record<string, unknown>;
  if ("sent" in obj && "scored" in obj) return null;
  const { label, scenario, event, ...rest } = obj;
  const fields = typeof event === "object" && event !== null ? event : rest;
  let parsed: NetworkEvent;
  try {
    parsed = fromJson(NetworkEventSchema, fields as never);
  } catch (e) {
    return (e as Error).message.replace(
      /^cannot decode message netanomaly\.v1\.NetworkEvent from JSON: /,
      "",
    );
  }
  return { event: parsed, label: labelOf(scenario, label) };
}

/**
 * Ground truth from `scenario` (an attack name or `normal`) or `label`
 * (`0`/`normal`/`false` negative; anything else an attack).
 */
export function labelOf(scenario: unknown, label: unknown): string | undefined {
  if (typeof scenario === "string" && scenario !== "") return scenario;
  if (label === undefined || label === null || label === "") return undefined;
  const text = String(label).toLowerCase();
  return text === "0" || text === "normal" || text === "false" || text === "benign"
    ? "normal"
    : typeof label === "string" && !/^(1|true|attack|anomal(y|ous)|malicious)$/.test(text)
      ? label
      : "attack";
}
