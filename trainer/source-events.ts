import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { type SourceProblem, sourceNamed } from "../sources/index.js";
import { validateEvent } from "../telemetry/index.js";
import type { BadRow } from "./bad-rows.js";

/** One event read from a file source, with its ground truth when the file carries one. */
export interface FileEvent {
  event: NetworkEvent;
  label: string | undefined;
  /** The record's id in its log (Zeek uid, Suricata flow_id, …), which a labels file names. */
  key: string | undefined;
}

/**
 * Reads a telemetry file of any file format in the sources registry (Zeek,
 * Suricata, Sysmon, osquery, JSON lines, …) for training or evaluation.
 * What the source skips, and events that break a contract rule (which the
 * server would reject), are reported through `onBad` with the line and
 * field, and left out.
 *
 * @throws Error naming the file when it cannot be read, or when `format`
 *   names no file source.
 */
export async function* readFileEvents(
  format: string,
  path: string,
  onBad: (row: BadRow) => void,
): AsyncGenerator<FileEvent> {
  const source = sourceNamed(format);
  if (source === undefined || source.kind !== "file")
    throw new Error(`${format} is not a file format`);
  const stop = new AbortController();
  const events = source.open(
    { input: path },
    {
      signal: stop.signal,
      onSkip: (p) => onBad(badRowOf(p)),
      onNotice: () => {},
    },
  );
  let n = 0;
  try {
    for await (const { event, label, key } of events) {
      n++;
      const violation = validateEvent(event);
      if (violation !== undefined) {
        onBad({ line: n, columns: [violation.field], message: `event ${n}: ${violation.message}` });
        continue;
      }
      yield { event, label, key };
    }
  } finally {
    stop.abort();
  }
}

/** A source's problem as a bad row: `file:57` gives line 57. */
function badRowOf(p: SourceProblem): BadRow {
  const m = /:(\d+)$/.exec(p.where);
  return { line: m ? Number(m[1]) : 0, columns: [], message: p.message };
}
