import { csvSource } from "./csv.js";
import { ipfixSource } from "./flow/flow-source.js";
import { hostSource } from "./host/host-source.js";
import { jsonlSource } from "./jsonl.js";
import { osquerySource } from "./osquery/osquery.js";
import { simSource } from "./sim.js";
import type { Source } from "./source.js";
import { suricataSource } from "./suricata/suricata.js";
import { sysmonSource } from "./sysmon/sysmon.js";
import { zeekSource } from "./zeek/zeek.js";

/**
 * Every telemetry source, by its command-line name. Adding a format is a
 * file in this folder and one line here.
 */
export const SOURCES: readonly Source[] = [
  simSource,
  csvSource,
  jsonlSource,
  hostSource,
  ipfixSource,
  zeekSource,
  suricataSource,
  sysmonSource,
  osquerySource,
];

/** The names `--source` accepts. */
export const SOURCE_NAMES: readonly string[] = SOURCES.map((s) => s.name);

/** The names `--format` accepts in train and evaluate: sources that read files. */
export const FILE_SOURCE_NAMES: readonly string[] = SOURCES.filter((s) => s.kind === "file").map(
  (s) => s.name,
);

/** @returns the source of that name, or undefined. */
export function sourceNamed(name: string): Source | undefined {
  return SOURCES.find((s) => s.name === name);
}
