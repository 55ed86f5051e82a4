/**
 * Score with explanation of one event, in process, for two checkouts taken
 * in turn: blocks of 250 events alternate between the two (which goes first
 * swaps every block), so both meet the same spells of load on this shared
 * machine. First checks that both give the same answers, bit for bit.
 *
 *   git archive <rev> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/
 *   node --import tsx bench/explain-ab.ts /tmp/before . 7
 *
 * Arguments: the baseline's directory, the other's, rounds. Prints µs per
 * event (median of rounds) and after ÷ before per round for
 * `detector.scoreAndExplain(event, 5)` (what a unary `Score` answer takes),
 * `detector.score(event)`, and the compiled forest's `scoreAndAttributeRow`
 * and `scoreRow` on featurized rows, with the load average.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CompiledForest } from "../detector/compiled-forest.js";
import type { Detector } from "../detector/detector.js";
import type { NetworkEvent } from "../gen/netanomaly/v1/telemetry_pb.js";
import { featurizeAll, simulatorEvents } from "./engine-fixture.js";

const BLOCK = 250;
const MODEL = "models/default.model.json";

interface Side {
  detector: Detector;
  forest: CompiledForest;
}

async function load(dir: string, model: string): Promise<Side> {
  const root = resolve(dir);
  const cd = (await import(`${root}/detector/create-detector.ts`)) as {
    createDetector: typeof import("../detector/create-detector.js").createDetector;
  };
  const cf = (await import(`${root}/detector/compiled-forest.ts`)) as {
    compileForest: typeof import("../detector/compiled-forest.js").compileForest;
  };
  const mf = (await import(`${root}/detector/model-file.ts`)) as {
    readModelFile: typeof import("../detector/model-file.js").readModelFile;
  };
  const m = await mf.readModelFile(model);
  return { detector: cd.createDetector(m), forest: cf.compileForest(m.forest) };
}

const median = (v: readonly number[]): number =>
  [...v].sort((x, y) => x - y)[v.length >> 1] as number;

async function main(): Promise<void> {
  const [beforeDir, afterDir, roundsArg] = process.argv.slice(2);
  const rounds = Number(roundsArg ?? 7);
  if (beforeDir === undefined || afterDir === undefined || !(rounds >= 1)) {
    console.error("usage: bench/explain-ab.ts BEFORE_DIR AFTER_DIR [ROUNDS]");
    process.exit(2);
  }
  const model = resolve(MODEL);
  const sides = [await load(beforeDir, model), await load(afterDir, model)] as const;
  const events = simulatorEvents(20_000, 7, 0.01);
  const { readModelFile } = await import("../detector/model-file.js");
  const rows = featurizeAll(await readModelFile(model), events);
  const nf = rows.nFeatures;
  for (const [i, event] of events.entries()) {
    const [a, b] = sides.map((s) => s.detector.scoreAndExplain(event, 5));
    if (!Object.is(a?.score, b?.score) || JSON.stringify(a) !== JSON.stringify(b)) {
      throw new Error(`event ${i}: the two checkouts answer differently`);
    }
  }
  let sink = 0;
  const row = new Float64Array(nf);
  const out = new Float64Array(nf);
  const copyRow = (r: number) => {
    for (let k = 0; k < nf; k++) row[k] = rows.data[r * nf + k] as number;
  };
  const kinds: Record<string, (s: Side, start: number) => void> = {
    scoreAndExplain: (s, start) => {
      for (let i = start; i < start + BLOCK; i++)
        sink += s.detector.scoreAndExplain(events[i] as NetworkEvent, 5).score;
    },
    score: (s, start) => {
      for (let i = start; i < start + BLOCK; i++)
        sink += s.detector.score(events[i] as NetworkEvent);
    },
    forestScoreAndAttribute: (s, start) => {
      for (let r = start; r < start + BLOCK; r++) {
        copyRow(r);
        out.fill(0);
        sink += s.forest.scoreAndAttributeRow(row, out);
      }
    },
    forestScore: (s, start) => {
      for (let r = start; r < start + BLOCK; r++) {
        copyRow(r);
        sink += s.forest.scoreRow(row);
      }
    },
  };
  const micros: Record<string, [number[], number[]]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(kinds)) {
      const total = [0n, 0n];
      for (let start = 0, j = 0; start + BLOCK <= events.length; start += BLOCK, j++) {
        for (const side of j % 2 === 0 ? [0, 1] : [1, 0]) {
          const t = process.hrtime.bigint();
          run(sides[side as 0 | 1], start);
          total[side] = (total[side] as bigint) + process.hrtime.bigint() - t;
        }
      }
      const m = micros[name] ?? [[], []];
      micros[name] = m;
      m[0].push(Number(total[0]) / 1e3 / events.length);
      m[1].push(Number(total[1]) / 1e3 / events.length);
    }
  }
  console.log(
    `${events.length} events, ${rounds} rounds, blocks of ${BLOCK} in turn; answers identical; µs/event, median of rounds`,
  );
  for (const [name, [a, b]] of Object.entries(micros)) {
    const r = b.map((x, i) => x / (a[i] as number));
    console.log(
      `${name.padEnd(24)} before ${median(a).toFixed(2)}  after ${median(b).toFixed(2)}  after/before ${median(r).toFixed(3)} (rounds ${Math.min(...r).toFixed(3)}–${Math.max(...r).toFixed(3)})`,
    );
  }
  const [ea, eb] = micros.scoreAndExplain as [number[], number[]];
  const [sa, sb] = micros.score as [number[], number[]];
  console.log(
    `explanation over scoring: before ${median(ea.map((x, i) => x - (sa[i] as number))).toFixed(2)}, after ${median(eb.map((x, i) => x - (sb[i] as number))).toFixed(2)} µs/event`,
  );
  if (!(sink > 0)) throw new Error("scores vanished");
  console.log(`load average at end: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
