import type { SsEndpoint, SsRecord } from "./ss-parse.js";

/** The process a connection belongs to; each part "" when unknown. */
export interface Attribution {
  path: string;
  hash: string;
  parent: string;
  user: string;
}

/** One connection of the host, as the table tracks it (the local socket's view). */
export interface Connection {
  key: string;
  proto: "tcp" | "udp";
  local: SsEndpoint;
  remote: SsEndpoint;
  inode: number;
  /** The socket cookie, when ss printed one (see `SsRecord.cookie`). */
  cookie: string | undefined;
  /**
   * Owner uid of the socket as a poll showed it on a live socket (ss omits
   * `uid:` for 0, so absent means root); undefined when only seen destroyed
   * or orphaned, where the kernel reports 0 whoever owned it.
   */
  uid: number | undefined;
  /** True when this host opened it (the local port is not a listening port). */
  outbound: boolean;
  /** Where the process came from: the socket seen live, its listener, or nowhere. */
  attributedBy: "socket" | "listener" | "none";
  attribution: Promise<Attribution> | undefined;
  firstSeenMs: number;
  /** Bytes the local socket sent and received, cumulative (tcp_info; UDP: 0, metered elsewhere). */
  sent: bigint;
  recv: bigint;
  /** What earlier events already reported. */
  reportedSent: bigint;
  reportedRecv: bigint;
  lastReportMs: number;
  /** When the close was seen (destroy event or gone from a poll); undefined while live. */
  closedMs: number | undefined;
  /** Whether the close came from a destroy event (final counters) or from vanishing from a poll. */
  closedBy: "destroy" | "poll" | undefined;
  seenInPoll: number;
}

/** A connection due for an event: closed, or live past the report interval. */
export interface Due {
  connection: Connection;
  reason: "close" | "interval";
}

/** Options of {@link createConnectionTable}. */
export interface ConnectionTableOptions {
  /** Live connections tracked at most; default 65536. Past it the oldest is dropped and counted. */
  maxConnections?: number;
  /** A live connection gets an event this often, ms; default 60 000. */
  reportMs?: number;
  /**
   * A close is held this long before its event, ms (default 500): a
   * connection gone from a poll waits for its destroy event and final
   * counters, a UDP one for the capture to count its last packets.
   */
  closeGraceMs?: number;
  /** A closed 4-tuple is remembered this long to drop a late duplicate close, ms; default 5000. */
  rememberClosedMs?: number;
  /** Attribution of a process id (the host source reads `/proc`). */
  attribute(pid: number): Promise<Attribution>;
}

/** Counters of what the table did, for notices and tests. */
export interface ConnectionTableStats {
  live: number;
  /** Closed before any poll saw them, inbound: process taken from the listener. */
  shortViaListener: number;
  /** Closed before any poll saw them, outbound: no process. */
  shortUnattributed: number;
  /** Dropped because the table was full. */
  evicted: number;
  /** Late destroy events, and stale poll records, of connections already closed. */
  duplicates: number;
}

/** The live-socket table. */
export interface ConnectionTable {
  /** Applies one poll of `ss -tuanpieOH` taken at `nowMs`. */
  applyPoll(records: readonly SsRecord[], nowMs: number): void;
  /** Applies one socket-destroy record of `ss -E`, seen at `nowMs`. */
  applyDestroy(record: SsRecord, nowMs: number): void;
  /** Removes and returns the connections due for an event at `nowMs`. */
  takeDue(nowMs: number): Due[];
  /** Marks what an event reported, so the next one carries only new bytes. */
  markReported(connection: Connection, nowMs: number): void;
  readonly stats: ConnectionTableStats;
}

/** `proto local remote`: unique among a network namespace's connected sockets. */
export function connectionKey(proto: string, local: SsEndpoint, remote: SsEndpoint): string {
  return `${proto} ${local.ip}:${local.port} ${remote.ip}:${remote.port}`;
}

/**
 * Tracks connections by (protocol, local, remote) and decides when each gets
 * an event (see `host-source.ts` for the semantics). The socket inode tells
 * a reused 4-tuple apart; inode 0 (an orphaned socket still closing) keeps
 * the entry it had. Listening sockets are not connections: they give the
 * direction (a socket on a listening port was accepted: inbound) and, for an
 * inbound connection too short for any poll, its process.
 */
export function createConnectionTable(options: ConnectionTableOptions): ConnectionTable {
  const maxConnections = options.maxConnections ?? 65_536;
  const reportMs = options.reportMs ?? 60_000;
  const closeGraceMs = options.closeGraceMs ?? 500;
  const rememberClosedMs = options.rememberClosedMs ?? 5000;
  const live = new Map<string, Connection>();
  const closing = new Map<string, Connection>();
  const ready: Connection[] = [];
  const recentlyClosed = new Map<string, number>();
  // Cookies of sockets already reported closed: a destroy event for one of
  // them, however late, is that connection again, not a new one.
  const reportedCookies = new Map<string, number>();
  let listeners = new Map<string, Promise<Attribution> | undefined>();
  let poll = 0;
  const stats = { shortViaListener: 0, shortUnattributed: 0, evicted: 0, duplicates: 0 };

  const listenKey = (proto: string, port: number) => `${proto}:${port}`;

  function open(record: SsRecord & { remote: SsEndpoint }, nowMs: number): Connection {
    const key = connectionKey(record.proto, record.local, record.remote);
    const inbound = record.proto === "tcp" && listeners.has(listenKey("tcp", record.local.port));
    const user = record.users[0];
    let attribution: Promise<Attribution> | undefined;
    let attributedBy: Connection["attributedBy"] = "none";
    if (user !== undefined) {
      attribution = options.attribute(user.pid);
      attributedBy = "socket";
    } else if (inbound) {
      attribution = listeners.get(listenKey("tcp", record.local.port));
      if (attribution !== undefined) attributedBy = "listener";
    }
    const connection: Connection = {
      key,
      proto: record.proto,
      local: record.local,
      remote: record.remote,
      inode: record.inode,
      cookie: record.cookie,
      uid: undefined,
      outbound: !inbound,
      attributedBy,
      attribution,
      firstSeenMs: nowMs,
      sent: 0n,
      recv: 0n,
      reportedSent: 0n,
      reportedRecv: 0n,
      lastReportMs: nowMs,
      closedMs: undefined,
      closedBy: undefined,
      seenInPoll: poll,
    };
    update(connection, record);
    return connection;
  }

  function update(connection: Connection, record: SsRecord): void {
    if (record.cookie !== undefined && connection.cookie === undefined)
      connection.cookie = record.cookie;
    if (record.inode !== 0 && connection.uid === undefined) connection.uid = record.uid ?? 0;
    // bytes_sent counts retransmissions and bytes_acked the FIN: the smaller is the payload sent.
    const { bytesAcked: acked, bytesSent: written } = record;
    const sent =
      acked === undefined || written === undefined ? (acked ?? written) : smaller(acked, written);
    if (sent !== undefined && sent > connection.sent) connection.sent = sent;
    const recv = record.bytesReceived;
    if (recv !== undefined && recv > connection.recv) connection.recv = recv;
  }

  function track(connection: Connection): void {
    if (live.size >= maxConnections) {
      const oldest = live.keys().next().value as string;
      live.delete(oldest);
      stats.evicted++;
    }
    live.set(connection.key, connection);
  }

  function close(connection: Connection, nowMs: number, by: "destroy" | "poll"): void {
    connection.closedBy = by;
    live.delete(connection.key);
    connection.closedMs = nowMs;
    // The same 4-tuple closing twice within the grace: the older one is due now.
    const older = closing.get(connection.key);
    if (older !== undefined) {
      ready.push(older);
      closing.delete(connection.key);
    }
    closing.set(connection.key, connection);
  }

  return {
    get stats() {
      return { live: live.size, ...stats };
    },

    applyPoll(records, nowMs) {
      poll++;
      const nextListeners = new Map<string, Promise<Attribution> | undefined>();
      for (const r of records) {
        if (r.proto === "tcp" && r.state === "LISTEN") {
          const key = listenKey("tcp", r.local.port);
          const user = r.users[0];
          const known = listeners.get(key) ?? nextListeners.get(key);
          nextListeners.set(key, known ?? (user ? options.attribute(user.pid) : undefined));
        }
      }
      listeners = nextListeners;
      for (const r of records) {
        if (r.remote === undefined || r.state === "LISTEN" || r.state === "TIME-WAIT") continue;
        const key = connectionKey(r.proto, r.local, r.remote);
        // A poll is a snapshot taken before it is applied: a socket whose
        // destroy event came in between is closed already, not a new one.
        if (r.cookie !== undefined && !live.has(key)) {
          const pending = closing.get(key);
          if (
            reportedCookies.has(r.cookie) ||
            (pending?.closedBy === "destroy" && pending.cookie === r.cookie)
          ) {
            stats.duplicates++;
            continue;
          }
        }
        let connection = live.get(key);
        if (
          connection !== undefined &&
          r.inode !== 0 &&
          connection.inode !== 0 &&
          r.inode !== connection.inode
        ) {
          close(connection, nowMs, "poll");
          connection = undefined;
        }
        if (connection === undefined) {
          track(open(r as SsRecord & { remote: SsEndpoint }, nowMs));
          continue;
        }
        connection.seenInPoll = poll;
        update(connection, r);
        const user = r.users[0];
        if (connection.attributedBy !== "socket" && user !== undefined) {
          connection.attribution = options.attribute(user.pid);
          connection.attributedBy = "socket";
        }
      }
      for (const connection of [...live.values()]) {
        if (connection.seenInPoll !== poll) close(connection, nowMs, "poll");
      }
    },

    applyDestroy(record, nowMs) {
      if (record.remote === undefined) return;
      if (record.cookie !== undefined && reportedCookies.has(record.cookie)) {
        stats.duplicates++;
        return;
      }
      const key = connectionKey(record.proto, record.local, record.remote);
      const connection = live.get(key);
      if (connection !== undefined) {
        update(connection, record);
        close(connection, nowMs, "destroy");
        return;
      }
      const pending = closing.get(key);
      if (pending?.closedBy === "poll") {
        // Gone from a poll a moment ago: these are its final counters.
        update(pending, record);
        pending.closedBy = "destroy";
        return;
      }
      const closedAt = recentlyClosed.get(key);
      if (closedAt !== undefined && nowMs - closedAt < rememberClosedMs) {
        stats.duplicates++;
        return;
      }
      const connection2 = open(record as SsRecord & { remote: SsEndpoint }, nowMs);
      if (connection2.attributedBy === "listener") stats.shortViaListener++;
      else stats.shortUnattributed++;
      close(connection2, nowMs, "destroy");
    },

    takeDue(nowMs) {
      const due: Due[] = ready.splice(0).map((connection) => {
        if (connection.cookie !== undefined) reportedCookies.set(connection.cookie, nowMs);
        return { connection, reason: "close" as const };
      });
      // Closes are in order of closedMs: stop at the first one still in its grace.
      for (const [key, connection] of closing) {
        if (nowMs - (connection.closedMs as number) < closeGraceMs) break;
        closing.delete(key);
        due.push({ connection, reason: "close" });
        if (connection.cookie !== undefined) reportedCookies.set(connection.cookie, nowMs);
        // Only a connection that vanished from a poll may still see its destroy
        // event; a 4-tuple closed by its destroy event may be reused at once
        // (tcp_tw_reuse), and its next destroy is a new connection.
        recentlyClosed.delete(key);
        if (connection.closedBy === "poll") recentlyClosed.set(key, nowMs);
      }
      for (const [cookie, at] of reportedCookies) {
        if (nowMs - at < rememberClosedMs && reportedCookies.size <= maxConnections) break;
        reportedCookies.delete(cookie);
      }
      for (const [key, at] of recentlyClosed) {
        if (nowMs - at < rememberClosedMs && recentlyClosed.size <= maxConnections) break;
        recentlyClosed.delete(key);
      }
      for (const connection of live.values()) {
        if (nowMs - connection.lastReportMs >= reportMs)
          due.push({ connection, reason: "interval" });
      }
      return due;
    },

    markReported(connection, nowMs) {
      connection.reportedSent = connection.sent;
      connection.reportedRecv = connection.recv;
      connection.lastReportMs = nowMs;
    },
  };
}

function smaller(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
