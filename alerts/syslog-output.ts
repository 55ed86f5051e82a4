import * as dgram from "node:dgram";
import * as net from "node:net";
import { hostname } from "node:os";
import type { Alert } from "./alert.js";
import { createDeliveryQueue, type DeliveryQueueOptions } from "./delivery-queue.js";
import type { AlertOutput } from "./output.js";

/** A `--alert-syslog` target. */
export interface SyslogTarget {
  transport: "tcp" | "udp";
  host: string;
  port: number;
}

/**
 * Parses `tcp://host:port` or `udp://host:port` (`[v6]` in brackets).
 *
 * @throws RangeError naming the value.
 */
export function parseSyslogTarget(text: string): SyslogTarget {
  const m = /^(tcp|udp):\/\/(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[4]);
  if (m === null || port < 1 || port > 65535) {
    throw new RangeError(
      `--alert-syslog must be tcp://HOST:PORT or udp://HOST:PORT, got ${JSON.stringify(text)}`,
    );
  }
  return { transport: m[1] as "tcp" | "udp", host: m[2] ?? (m[3] as string), port };
}

/** Facility local0 (16), severity warning (4): PRI = 16 * 8 + 4. */
const PRI = 132;
/** The IANA example enterprise number (RFC 5612) names our structured data element. */
const SD_ID = "netanomaly@32473";

/** SD-PARAM values escape `"`, `\` and `]` (RFC 5424 §6.3.3). */
function sdValue(v: string | number): string {
  return String(v).replace(/["\\\]]/g, (c) => `\\${c}`);
}

/**
 * One RFC 5424 message: `<132>1 TIME HOST netanomaly PID alert [netanomaly@32473 alertId=…
 * score=… count=…] JSON`, the alert as its MSG.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5424
 */
export function formatSyslog(alert: Alert, host = hostname()): string {
  const sd = `[${SD_ID} alertId="${sdValue(alert.alertId)}" score="${sdValue(alert.score)}" count="${sdValue(alert.count)}" modelVersion="${sdValue(alert.modelVersion)}"]`;
  const h = host.replace(/[^\x21-\x7e]/g, "").slice(0, 255) || "-";
  return `<${PRI}>1 ${alert.time} ${h} netanomaly ${process.pid} alert ${sd} ${JSON.stringify(alert)}`;
}

/** Options for {@link createSyslogOutput}. */
export type SyslogOutputOptions = SyslogTarget &
  Pick<DeliveryQueueOptions, "report" | "onError" | "maxQueue" | "baseDelayMs" | "maxDelayMs">;

/**
 * Sends each alert to a syslog receiver as an RFC 5424 message: over TCP
 * with octet-counting framing (RFC 6587 §3.4.1, `LEN SP MSG`), one
 * connection reconnected after a failure; over UDP one datagram per alert
 * (RFC 5426; no delivery guarantee beyond the send). Retried with backoff
 * like the webhook (delivery-queue.ts).
 */
export function createSyslogOutput(options: SyslogOutputOptions): AlertOutput {
  let socket: net.Socket | undefined;
  let udp: dgram.Socket | undefined;
  const connect = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(options.port, options.host);
      s.once("connect", () => {
        s.removeListener("error", reject);
        s.on("error", () => s.destroy());
        s.on("close", () => {
          if (socket === s) socket = undefined;
        });
        // Receivers send nothing back; drain anything so the socket never stalls.
        s.resume();
        resolve(s);
      });
      s.once("error", reject);
    });
  const queue = createDeliveryQueue({
    ...options,
    async deliver(alert) {
      const msg = Buffer.from(formatSyslog(alert), "utf8");
      if (options.transport === "udp") {
        udp ??= dgram.createSocket(net.isIPv6(options.host) ? "udp6" : "udp4");
        const u = udp;
        await new Promise<void>((resolve, reject) =>
          u.send(msg, options.port, options.host, (e) => (e ? reject(e) : resolve())),
        );
        return;
      }
      if (socket === undefined || socket.destroyed) {
        socket = await connect();
      }
      const s = socket;
      await new Promise<void>((resolve, reject) => {
        s.write(Buffer.concat([Buffer.from(`${msg.length} `), msg]), (e) => {
          if (e) {
            s.destroy();
            reject(e);
          } else {
            resolve();
          }
        });
      });
    },
  });
  return {
    name: "syslog",
    send: (alert) => queue.push(alert),
    async close(deadlineMs) {
      await queue.close(deadlineMs);
      if (socket !== undefined) {
        const s = socket;
        await new Promise<void>((resolve) => s.end(() => resolve()));
        s.destroy();
      }
      udp?.close();
    },
  };
}
