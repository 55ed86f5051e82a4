/**
 * `tsx server/testdata/log-kill.ts`: logs an info line and then a warning
 * (an alert) through the server's log destination, and SIGKILLs itself in
 * the same turn, as a crash right after a call's answer would.
 */
import { pino } from "pino";
import { serverLogDestination } from "../log-destination.js";

const logger = pino({ level: "info" }, serverLogDestination());
logger.info({ seq: 0 }, "before the alert");
logger.warn({ seq: 1 }, "anomalous event");
process.kill(process.pid, "SIGKILL");
