/**
 * `tsx server/testdata/log-burst.ts NAME COUNT [TURNS]`: logs COUNT lines of
 * about 300 bytes through the server's log destination, spread over TURNS
 * turns of the event loop (default 1), then exits at once with
 * `process.exit(0)`, as the server does after `stopped`.
 */
import { pino } from "pino";
import { serverLogDestination } from "../log-destination.js";

const [name = "x", count = "1000", turns = "1"] = process.argv.slice(2);
const logger = pino({ level: "info" }, serverLogDestination());
const padding = "p".repeat(200);
const perTurn = Math.ceil(Number(count) / Number(turns));
for (let seq = 0; seq < Number(count); seq++) {
  logger.info({ name, seq, padding }, "burst");
  if ((seq + 1) % perTurn === 0 && seq + 1 < Number(count)) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}
process.exit(0);
