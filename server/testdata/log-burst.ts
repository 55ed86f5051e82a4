/**
 * `tsx server/testdata/log-burst.ts NAME COUNT`: logs COUNT lines of about
 * 300 bytes through the server's log destination in one burst, then exits
 * at once with `process.exit(0)`, as the server does after `stopped`.
 */
import { pino } from "pino";
import { serverLogDestination } from "../log-destination.js";

const [name = "x", count = "1000"] = process.argv.slice(2);
const logger = pino({ level: "info" }, serverLogDestination());
const padding = "p".repeat(200);
for (let seq = 0; seq < Number(count); seq++) {
  logger.info({ name, seq, padding }, "burst");
}
process.exit(0);
