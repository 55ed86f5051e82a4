/**
 * Parses the one-line-per-socket output of iproute2's `ss` (`ss -tuanpieOH`
 * for a poll, `ss -tuanieOHE` for socket-destroy events) into records.
 *
 * A line reads `NETID STATE RECV-Q SEND-Q LOCAL PEER [users:((…))] [timer:(…)]
 * [uid:N] ino:N sk:… [cgroup:…] [<->] [tcp_info fields…]`, where an address is
 * `1.2.3.4:80`, `[::1]:80`, `0.0.0.0:*`, `*:*` or carries an interface scope
 * (`127.0.0.53%lo:53`, `[fe80::1]%eth0:22`). The tcp_info counters this
 * collector uses are `bytes_sent` (including retransmissions), `bytes_acked`
 * and `bytes_received` (Linux 4.1+; `bytes_sent` 5.5+).
 */

/** One endpoint of a socket; `port` 0 and `ip` "" stand for `*`. */
export interface SsEndpoint {
  ip: string;
  port: number;
}

/** A process holding a socket, as `users:(("curl",pid=42,fd=5))` lists it. */
export interface SsUser {
  name: string;
  pid: number;
  fd: number;
}

/** One socket line of `ss`. */
export interface SsRecord {
  proto: "tcp" | "udp";
  /** `ESTAB`, `LISTEN`, `UNCONN`, `FIN-WAIT-1`, …; destroy events say `UNCONN`. */
  state: string;
  local: SsEndpoint;
  /** The peer, or undefined for `*` (listening or unconnected sockets). */
  remote: SsEndpoint | undefined;
  /** Processes with the socket open (empty without `-p`, or when not permitted). */
  users: SsUser[];
  /** Owner uid when ss prints one (it omits uid 0). */
  uid: number | undefined;
  /** Socket inode; 0 once the socket is orphaned or destroyed. */
  inode: number;
  /**
   * The kernel's socket cookie (`sk:`, hex): the same for a socket in every
   * poll and in its destroy event, and never shared by two sockets, so it
   * matches a close to the connection exactly where the inode (0 at destroy)
   * and the 4-tuple (reused at once on loopback) cannot.
   */
  cookie: string | undefined;
  bytesSent: bigint | undefined;
  bytesAcked: bigint | undefined;
  bytesReceived: bigint | undefined;
}

/** A line `ss` printed that this parser could not read. */
export class SsParseError extends Error {
  override readonly name = "SsParseError";
}

const USER_RE = /\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)/g;

/**
 * Parses one `ss` output line.
 *
 * @returns the socket, or undefined for a blank line.
 * @throws SsParseError naming the column that did not parse.
 */
export function parseSsLine(line: string): SsRecord | undefined {
  // Six columns are read by scanning, not by splitting the whole line: a
  // destroy line with tcp_info is about 1 kB, and thousands arrive a second.
  const cols: string[] = [];
  let at = 0;
  while (cols.length < 6) {
    while (at < line.length && isSpace(line.charCodeAt(at))) at++;
    if (at >= line.length) break;
    const start = at;
    while (at < line.length && !isSpace(line.charCodeAt(at))) at++;
    cols.push(line.slice(start, at));
  }
  if (cols.length === 0) return undefined;
  if (cols.length < 6) throw new SsParseError(`expected at least 6 columns, got ${cols.length}`);
  const [netid, state, , , localText, remoteText] = cols as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (netid !== "tcp" && netid !== "udp") {
    throw new SsParseError(`netid ${JSON.stringify(netid.slice(0, 16))} is not tcp or udp`);
  }
  const local = parseEndpoint(localText, "local address");
  const remoteParsed = parseEndpoint(remoteText, "peer address");
  const remote = remoteParsed.port === 0 ? undefined : remoteParsed;
  // Fields are looked up after the six columns as " name:" (the space keeps
  // `uid:` from matching inside another name).
  const users: SsUser[] = [];
  const usersAt = line.indexOf("users:((", at);
  if (usersAt >= 0) {
    const end = line.indexOf("))", usersAt);
    const usersText = line.slice(usersAt, end < 0 ? undefined : end + 2);
    for (const m of usersText.matchAll(USER_RE)) {
      users.push({ name: m[1] as string, pid: Number(m[2]), fd: Number(m[3]) });
    }
  }
  const inodeText = field(line, " ino:", at);
  if (inodeText === undefined) throw new SsParseError("no ino: field (run ss with -e)");
  const inode = Number(inodeText);
  if (!Number.isSafeInteger(inode)) throw new SsParseError(`ino ${inodeText} is not a number`);
  const uidText = field(line, " uid:", at);
  return {
    proto: netid,
    state,
    local,
    remote,
    users,
    uid: uidText === undefined ? undefined : Number(uidText),
    inode,
    cookie: hexField(line, " sk:", at),
    bytesSent: counter(line, " bytes_sent:", at),
    bytesAcked: counter(line, " bytes_acked:", at),
    bytesReceived: counter(line, " bytes_received:", at),
  };
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Parses `1.2.3.4:80`, `[::1]:80`, `*:*`, `0.0.0.0:*`, `[::]:*` and scoped
 * forms (`127.0.0.53%lo:53`, `[fe80::1]%eth0:22`, `*%lo:53`).
 */
export function parseEndpoint(text: string, what: string): SsEndpoint {
  const colon = text.lastIndexOf(":");
  if (colon <= 0)
    throw new SsParseError(`${what} ${JSON.stringify(text.slice(0, 64))} has no port`);
  const portText = text.slice(colon + 1);
  let host = text.slice(0, colon);
  const scope = host.lastIndexOf("%");
  if (scope >= 0 && (host.startsWith("[") ? scope > host.indexOf("]") : true)) {
    host = host.slice(0, scope);
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host === "*") host = "";
  let port = 0;
  if (portText !== "*") {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) {
      throw new SsParseError(`${what} ${JSON.stringify(text.slice(0, 64))} has a bad port`);
    }
  }
  if (host.startsWith("::ffff:") && host.includes(".")) host = host.slice(7);
  return { ip: host, port };
}

function field(text: string, name: string, from: number): string | undefined {
  const at = text.indexOf(name, from);
  if (at < 0) return undefined;
  const start = at + name.length;
  let end = start;
  while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
  return end > start ? text.slice(start, end) : undefined;
}

function hexField(text: string, name: string, from: number): string | undefined {
  const at = text.indexOf(name, from);
  if (at < 0) return undefined;
  const start = at + name.length;
  let end = start;
  while (end < text.length && /[0-9a-f]/i.test(text[end] as string)) end++;
  return end > start ? text.slice(start, end).toLowerCase() : undefined;
}

function counter(text: string, name: string, from: number): bigint | undefined {
  const digits = field(text, name, from);
  return digits === undefined ? undefined : BigInt(digits);
}
