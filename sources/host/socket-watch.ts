/**
 * Where the host collector's sockets come from: a listing on request (each
 * poll) and a stream of the sockets the kernel destroys. Two implementations
 * share it: `sockdiag/sockdiag-watch.ts` (a small C helper reading
 * sock_diag in binary; the default) and `ss-watch.ts` (iproute2's `ss`, when
 * the helper cannot be built).
 */
import type { SsRecord } from "./ss-parse.js";

/** What a watch reports back to the collector. */
export interface SocketWatchHooks {
  signal: AbortSignal;
  /** Run the children in this network namespace (`ip netns exec NAME`). */
  netns?: string;
  /** A socket the kernel destroyed, with its final counters (inode 0, no process). */
  onDestroy(record: SsRecord, nowMs: number): void;
  /** A line that did not parse, with where it was. */
  onBadLine(where: string, message: string): void;
  /** Something the user should hear once: `kind` de-duplicates. */
  onNotice(kind: string, message: string): void;
}

/** A running source of socket listings and destroy events. */
export interface SocketWatch {
  /** `sockdiag` or `ss`, for the stats and the bench. */
  readonly kind: "sockdiag" | "ss";
  /** Lists the TCP and UDP sockets (all states but TIME-WAIT) with their processes. Rejects when the lister is gone. */
  poll(): Promise<SsRecord[]>;
  /** Destroy events read so far. */
  readonly destroyEvents: number;
  /** pids of the long-running children, for CPU accounting. */
  pids(): { poll?: number; destroy?: number };
}
