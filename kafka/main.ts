/**
 * The Kafka scorer's command line: joins a consumer group on the input topic,
 * scores each record and produces its verdict (see `USAGE` in args.ts).
 *
 * Exit codes: 0 after SIGTERM/SIGINT, 1 model or broker problem, 2 bad flags.
 */
import { UsageError } from "../cli/usage-error.js";
import { parseScorerArgs, type ScorerArgs, USAGE } from "./args.js";
import { catchClientFaults } from "./client-faults.js";
import { createModelHolder } from "./model-holder.js";
import { runScorer } from "./scorer.js";

function line(level: string, message: string): void {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level, pid: process.pid, msg: message })}\n`,
  );
}

async function main(): Promise<number> {
  let args: ScorerArgs;
  try {
    args = parseScorerArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`consume: ${err.message} (usage: npm run consume -- --help)\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let models: Awaited<ReturnType<typeof createModelHolder>>;
  try {
    models = await createModelHolder({ path: args.model, threshold: args.threshold, onLog: line });
  } catch (err) {
    process.stderr.write(`consume: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  models.watch();
  const stop = new AbortController();
  const onStop = () => stop.abort();
  const onHup = () => void models.reload("SIGHUP");
  process.once("SIGINT", onStop);
  process.once("SIGTERM", onStop);
  process.on("SIGHUP", onHup);
  line(
    "info",
    `scoring ${args.input} -> ${args.output} as group ${args.group} with model ${models.current().info.version}`,
  );
  // A throw inside the Kafka client's callbacks ends the session, not the
  // process; any other uncaught exception still ends the process.
  const faults = catchClientFaults(
    (e) => line("warn", `the Kafka client failed inside a callback: ${e.stack ?? e.message}`),
    (e) => {
      line("error", `uncaught: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exit(1);
    },
  );
  try {
    const stats = await runScorer({
      brokers: args.brokers,
      input: args.input,
      output: args.output,
      deadLetter: args.deadLetter,
      alerts: args.alerts,
      group: args.group,
      clientId: args.clientId,
      format: args.format,
      models,
      maxBatch: args.batch,
      sessionTimeoutMs: args.sessionTimeoutMs,
      stallTimeoutMs: args.stallTimeoutMs,
      clientFaults: faults,
      trace: process.env.NETANOMALY_KAFKA_TRACE === "1",
      signal: stop.signal,
      onLog: line,
    });
    line("info", `stopped: ${JSON.stringify(stats)}`);
    return 0;
  } catch (err) {
    line("error", `scorer failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    faults.stop();
    models.close();
    process.off("SIGHUP", onHup);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`consume: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
