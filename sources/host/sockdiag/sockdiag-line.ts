/**
 * Parses the lines of the `netanomaly-sockdiag` helper (`sockdiag.c`, whose
 * header documents them) into the records `ss-parse.ts` makes of `ss`
 * output, so the connection table reads both alike.
 */
import { type SsEndpoint, SsParseError, type SsRecord } from "../ss-parse.js";

/** One helper line: a socket of a poll, a destroyed socket, a poll's end, or a notice. */
export type SockdiagLine =
  | { kind: "socket"; record: SsRecord }
  | { kind: "destroy"; record: SsRecord }
  | { kind: "end"; sockets: number; scannedPids: number }
  | { kind: "notice"; message: string };

/**
 * Parses one line (without its newline).
 *
 * @throws SsParseError naming the field that did not parse.
 */
export function parseSockdiagLine(line: string): SockdiagLine {
  const f = line.split(" ");
  switch (f[0]) {
    case "S":
    case "D": {
      const poll = f[0] === "S";
      if (f.length !== (poll ? 15 : 11)) {
        throw new SsParseError(`${f[0]} line has ${f.length} fields, expected ${poll ? 15 : 11}`);
      }
      const proto = f[1] === "t" ? "tcp" : f[1] === "u" ? "udp" : undefined;
      if (proto === undefined)
        throw new SsParseError(`protocol ${JSON.stringify(f[1])} is not t or u`);
      const remote = endpoint(f[5] as string, f[6] as string, "peer");
      const record: SsRecord = {
        proto,
        state: f[2] as string,
        local: endpoint(f[3] as string, f[4] as string, "local"),
        remote: remote.port === 0 ? undefined : remote,
        users: [],
        uid: undefined,
        inode: 0,
        cookie: f[7],
        bytesSent: counter(f[8] as string, "sent"),
        bytesAcked: counter(f[9] as string, "acked"),
        bytesReceived: counter(f[10] as string, "received"),
      };
      if (!poll) return { kind: "destroy", record };
      record.inode = whole(f[11] as string, "inode");
      record.uid = whole(f[12] as string, "uid");
      if (f[13] !== "-") {
        record.users.push({
          name: "",
          pid: whole(f[13] as string, "pid"),
          fd: whole(f[14] as string, "fd"),
        });
      }
      return { kind: "socket", record };
    }
    case "E":
      return {
        kind: "end",
        sockets: whole(f[1] ?? "", "socket count"),
        scannedPids: whole(f[2] ?? "", "scanned pids"),
      };
    case "!":
      return { kind: "notice", message: line.slice(2) };
    default:
      throw new SsParseError(`unknown line kind ${JSON.stringify(line.slice(0, 16))}`);
  }
}

function endpoint(ip: string, portText: string, what: string): SsEndpoint {
  const port = whole(portText, `${what} port`);
  if (port > 65535) throw new SsParseError(`${what} port ${port} is out of range`);
  return { ip: ip === "*" ? "" : ip, port };
}

function whole(text: string, what: string): number {
  const n = Number(text);
  if (text === "" || !Number.isSafeInteger(n) || n < 0) {
    throw new SsParseError(`${what} ${JSON.stringify(text.slice(0, 24))} is not a whole number`);
  }
  return n;
}

function counter(text: string, what: string): bigint | undefined {
  if (text === "-") return undefined;
  if (!/^\d+$/.test(text))
    throw new SsParseError(`bytes ${what} ${JSON.stringify(text.slice(0, 24))} is not a number`);
  // A bigint from a safe integer is made without parsing the digits again.
  const n = Number(text);
  return n <= Number.MAX_SAFE_INTEGER ? BigInt(n) : BigInt(text);
}
