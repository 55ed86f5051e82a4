/**
 * The `metrics` and `kafka` sections of `npm run bench`: what the metrics
 * cost StreamScore (the same load with `--metrics` on and off, and the hooks
 * alone in process), and events/s end to end through Kafka (agent → topic →
 * one or two scorers → verdict topic → a counting consumer).
 */
import { kafkaBench } from "./kafka-bench.js";
import { measureMetricsCost, measureMetricsHookCost } from "./metrics-bench.js";
import { fmt, type TableRow, verdict } from "./report.js";

/** StreamScore with metrics on and off; goal: ≤ 3 % apart. */
export async function runMetricsSection(options: {
  root: string;
  repeats: number;
  quick: boolean;
}): Promise<{ rows: TableRow[]; results: Record<string, unknown> }> {
  const hooks = await measureMetricsHookCost({ root: options.root, repeats: options.repeats });
  const e2e = await measureMetricsCost({
    root: options.root,
    repeats: options.repeats,
    seconds: options.quick ? 2 : 5,
  });
  const share = hooks.hookNanosPerEvent;
  return {
    results: { metricsHooks: hooks, metricsEndToEnd: e2e },
    rows: [
      {
        id: "metrics.hooks",
        what: "metrics hooks per StreamScore batch, in process: on ÷ off events per CPU-second",
        value: fmt(hooks.ratio, "", (x) => x.toFixed(3)),
        goal: "≥ 0.97",
        verdict: verdict(hooks.ratio.median, "min", 0.97),
      },
      {
        id: "metrics.hooks.ns",
        what: "  the hooks alone, CPU ns per event",
        value: fmt(share, "ns", (x) => x.toFixed(1)),
        goal: "",
        verdict: "",
      },
      {
        id: "metrics.e2e",
        what: `StreamScore events/s, --metrics on ÷ off, paired runs (${e2e.command})`,
        value: fmt(e2e.throughputRatio, "", (x) => x.toFixed(3)),
        goal: "",
        verdict: "",
      },
    ],
  };
}

/** Events/s through Kafka with one and two scorers. */
export async function runKafkaSection(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<{ rows: TableRow[]; results: Record<string, unknown> }> {
  const r = await kafkaBench({
    events: options.quick ? 20_000 : 50_000,
    onProgress: (l) => options.log(`kafka: ${l}`),
  });
  if (r.skipped !== undefined) {
    options.log(`kafka: skipped (${r.skipped})`);
    return { rows: [], results: { kafka: r } };
  }
  return {
    results: { kafka: r },
    rows: r.runs.map((run) => ({
      id: `kafka.${run.mode}.${run.scorers}`,
      what: `Kafka end to end, ${run.scorers} scorer${run.scorers > 1 ? "s" : ""}, ${run.mode === "pipeline" ? "agent publishing meanwhile" : "topic filled first"} (${run.events} events, ${run.duplicates} duplicate verdicts${run.agent_events_per_s ? `, agent alone ${Math.round(run.agent_events_per_s)}/s` : ""})`,
      value: `${Math.round(run.events_per_s)} events/s`,
      goal: "",
      verdict: "",
    })),
  };
}
