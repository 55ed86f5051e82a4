/**
 * `tsx server/testdata/log-stall.ts COUNT`: logs COUNT lines of about 1 KiB
 * through the server's log destination (buffer bound 256 KiB), 50 per turn
 * of the event loop, while a 5 ms timer checks the loop keeps turning. Then
 * it writes `done <dropped> <max timer lag ms>` to stderr and waits for a
 * line on stdin before exiting: the test reads stdout only after `done`,
 * as a log shipper that stalled and came back.
 */
import { writeSync } from "node:fs";
import { pino } from "pino";
import { serverLogDestination } from "../log-destination.js";

const count = Number(process.argv[2] ?? "2000");
const destination = serverLogDestination({ maxBufferedBytes: 256 * 1024 });
const logger = pino({ level: "info" }, destination);
const padding = "p".repeat(1000);
let last = performance.now();
let maxLag = 0;
const timer = setInterval(() => {
  const now = performance.now();
  maxLag = Math.max(maxLag, now - last);
  last = now;
}, 5);
for (let seq = 0; seq < count; seq++) {
  logger.info({ seq, padding }, "stall");
  if (seq % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 1));
}
clearInterval(timer);
writeSync(2, `done ${destination.stats.droppedLines} ${Math.round(maxLag)}\n`);
process.stdin.once("data", () => setTimeout(() => process.exit(0), 200));
