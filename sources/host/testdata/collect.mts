// Runs the host collector and prints one JSON line per poll, notice, skip
// and event, then its stats when stdin closes. host-source-unprivileged.test.ts
// runs it as user nobody.
import { toJson } from "@bufbuild/protobuf";
import { NetworkEventSchema } from "../../../gen/netanomaly/v1/telemetry_pb.js";
import { createHostCollector } from "../host-source.js";

const out = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);
const abort = new AbortController();
process.stdin.on("end", () => abort.abort());
process.stdin.resume();
const collector = createHostCollector(
  { intervalS: Number(process.argv[2] ?? 0.2), onPoll: ({ count }) => out({ poll: count }) },
  {
    signal: abort.signal,
    onSkip: (problem) => out({ skip: problem }),
    onNotice: (notice) => out({ notice }),
  },
);
for await (const { event } of collector.events) out({ event: toJson(NetworkEventSchema, event) });
out({ stats: collector.stats() });
