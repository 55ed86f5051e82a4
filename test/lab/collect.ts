import { parseArgs } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { NetworkEventSchema } from "../../gen/netanomaly/v1/telemetry_pb.js";
import { SOURCE_NAMES, type SourceOptions, sourceNamed } from "../../sources/index.js";

/**
 * A bare collector for the lab: opens a source from the registry by name and
 * prints each event as one JSON line (the proto's JSON mapping), as the
 * agent's `--print` does, until `--duration` seconds pass or SIGTERM/SIGINT.
 * Skips and notices go to stderr; the last stderr line is a JSON summary.
 *
 *   node --import tsx test/lab/collect.ts --source host [--interval S] [--duration S]
 *   node --import tsx test/lab/collect.ts --source ipfix --listen 127.0.0.1:2055
 *
 * Exits 3 when the source is not registered.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      source: { type: "string" },
      listen: { type: "string" },
      interval: { type: "string" },
      duration: { type: "string" },
    },
  });
  const name = values.source ?? "";
  const source = sourceNamed(name);
  if (source === undefined) {
    process.stderr.write(
      `collect: source ${JSON.stringify(name)} is not registered (have: ${SOURCE_NAMES.join(", ")})\n`,
    );
    process.exitCode = 3;
    return;
  }
  const abort = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => abort.abort());
  if (values.duration !== undefined) {
    setTimeout(() => abort.abort(), Number(values.duration) * 1000).unref();
  }
  const options: SourceOptions = {};
  if (values.listen !== undefined) options.listen = values.listen;
  if (values.interval !== undefined) options.intervalS = Number(values.interval);
  let events = 0;
  let skipped = 0;
  const out: string[] = [];
  const flush = () => {
    if (out.length > 0) process.stdout.write(`${out.join("\n")}\n`);
    out.length = 0;
  };
  const timer = setInterval(flush, 200);
  const iterable = source.open(options, {
    signal: abort.signal,
    onSkip: ({ where, message }) => {
      skipped++;
      if (skipped <= 20) process.stderr.write(`collect: skipped ${where}: ${message}\n`);
    },
    onNotice: (message) => process.stderr.write(`collect: ${message}\n`),
  });
  for await (const { event } of iterable) {
    out.push(JSON.stringify(toJson(NetworkEventSchema, event)));
    events++;
  }
  clearInterval(timer);
  flush();
  process.stderr.write(`${JSON.stringify({ source: name, events, skipped })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`collect: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
