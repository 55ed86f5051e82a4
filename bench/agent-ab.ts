import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { runMeasured } from "./measured-run.js";
import { startServer } from "./server-process.js";
import { summarize } from "./stats.js";

/**
 * The agent's own cost from two trees in turn (issue 22, goal 6): one
 * compiled server (this tree's, built with `npm run build`), warmed by
 * 20,000 simulated events, then for each round and each tree a `--count 0`
 * run (start-up) and a measured run of the same command; the server's CPU
 * is read from /proc around the measured run. Prints each run, then
 * medians per tree of the agent's CPU per event less start-up, the
 * server's, and their ratio run by run.
 *
 * `npx tsx bench/agent-ab.ts --before DIR --after DIR --rounds N -- AGENT FLAGS`
 * (for example `--source csv --input FILE`); the load average is printed
 * with every run: the figures are only as quiet as the machine.
 */
async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      before: { type: "string" },
      after: { type: "string" },
      rounds: { type: "string", default: "3" },
    },
    allowPositionals: true,
  });
  if (values.before === undefined || values.after === undefined) {
    throw new Error("usage: bench/agent-ab.ts --before DIR --after DIR [--rounds N] -- FLAGS");
  }
  const trees = { before: resolve(values.before), after: resolve(values.after) };
  const rounds = Number(values.rounds);
  const root = resolve(import.meta.dirname, "..");
  const server = await startServer("compiled", join(root, "models/default.model.json"), {
    cwd: root,
  });
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(" ");
  const common = ["--target", server.url, "--rate", "0", "--batch", "100", "--json"];
  const runs: Record<string, { agent: number; server: number; ratio: number }[]> = {
    before: [],
    after: [],
  };
  try {
    await runMeasured(
      "sh",
      [
        "-c",
        `cd ${trees.after} && node --import tsx agent/main.ts --source sim --count 20000 ${common.join(" ")}`,
      ],
      120,
    );
    console.log(`${cpus().length} cores; ${positionals.join(" ")}`);
    for (let r = 0; r < rounds; r++) {
      for (const [name, dir] of Object.entries(trees)) {
        const agent = (flags: string[]) =>
          runMeasured(
            "sh",
            [
              "-c",
              `cd ${dir} && exec node --import tsx agent/main.ts ${[...flags, ...common].join(" ")}`,
            ],
            300,
          );
        const startup = await agent([...positionals, "--count", "0"]);
        const atStart = load();
        const cpu0 = await server.cpuSeconds();
        const measured = await agent(positionals);
        const serverCpu = (await server.cpuSeconds()) - cpu0;
        const summary = JSON.parse(measured.stdout.trim().split("\n").pop() as string) as {
          scored: number;
          errors: number;
          lost: number;
        };
        const events = summary.scored + summary.errors;
        const a = ((measured.cpuSeconds - startup.cpuSeconds) / events) * 1e6;
        const s = (serverCpu / events) * 1e6;
        runs[name]?.push({ agent: a, server: s, ratio: a / s });
        console.log(
          `round ${r + 1} ${name}: ${events} events, lost ${summary.lost}, agent ${measured.cpuSeconds.toFixed(2)} s - start-up ${startup.cpuSeconds.toFixed(2)} s = ${a.toFixed(2)} µs/event, server ${s.toFixed(2)} µs/event, ratio ${(a / s).toFixed(2)}×, load ${atStart}`,
        );
      }
    }
  } finally {
    await server.stop();
  }
  for (const [name, list] of Object.entries(runs)) {
    const m = (xs: number[]) => {
      const s = summarize(xs);
      return `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
    };
    console.log(
      `${name}: agent µs/event ${m(list.map((x) => x.agent))}, server µs/event ${m(list.map((x) => x.server))}, ratio ${m(list.map((x) => x.ratio))}, ${list.length} runs`,
    );
  }
  console.log(`load at end ${load()}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
