/**
 * The telemetry agent's command line: streams simulated or replayed events to
 * the scoring service and prints anomalies and a summary.
 *
 * Usage: see `USAGE` in args.ts. Exit codes: 0 done, 1 stopped by an error,
 * 2 bad flags.
 */
import { statSync } from "node:fs";
import { UsageError } from "../cli/usage-error.js";
import { parseAgentArgs, USAGE } from "./args.js";
import { ANOMALY_LEGEND, formatSummary } from "./report.js";
import { runAgent } from "./run-agent.js";

async function main(): Promise<number> {
  let args: ReturnType<typeof parseAgentArgs>;
  try {
    args = parseAgentArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`agent: ${err.message} (usage: npm run agent -- --help)\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const input = args.options.sourceOptions?.input;
  if (input !== undefined && input !== "-") {
    const problem = inputProblem(input);
    if (problem !== undefined) {
      process.stderr.write(`agent: ${problem}\n`);
      return 2;
    }
  }
  // With --print, stdout carries the events: everything else goes to stderr
  // (with --json the summary object still ends stdout).
  const out = args.options.print ? process.stderr : process.stdout;
  let legend = false;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const summary = await runAgent({
    ...args.options,
    signal: stop.signal,
    // With --json stdout carries only the summary object.
    ...(args.json
      ? {}
      : {
          onAnomaly: (line: string) => {
            if (!legend) out.write(`${ANOMALY_LEGEND}\n`);
            legend = true;
            out.write(`${line}\n`);
          },
        }),
    onWarning: (line) => process.stderr.write(`agent: ${line}\n`),
  });
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  const code = summary.fatal === undefined ? 0 : 1;
  const text = args.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`;
  const dest = args.json ? process.stdout : out;
  if (stop.signal.aborted) {
    // Stopped by a signal: a connection to a silent peer may still hold the
    // event loop open, so exit once the summary is out (issue 23, item 9).
    dest.write(text, () => process.exit(code));
    return code;
  }
  dest.write(text);
  return code;
}

/** @returns why `path` cannot be read as an input file, or undefined when it can. */
function inputProblem(path: string): string | undefined {
  try {
    const info = statSync(path);
    return info.isFile() || info.isFIFO() ? undefined : `${path} is not a regular file`;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${code}`;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
