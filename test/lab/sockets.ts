import { run, sleep } from "./proc.js";

/** A TCP connection as `ss -tinp` showed it, with the largest counters seen. */
export interface SsConnection {
  /** The process's command name, as ss prints it (`curl`, `ssh`). */
  process: string;
  local: string;
  peer: string;
  destPort: number;
  firstMs: number;
  lastMs: number;
  /** Snapshots that showed it. */
  seen: number;
  /** tcp_info bytes_sent / bytes_received: payload bytes, as the kernel counts them. */
  bytesSent: number;
  bytesRecv: number;
}

/**
 * Parses `ss -tinpH` output: a line per socket (`ESTAB 0 0 L:P R:P users:(("curl",pid=1,fd=5))`)
 * followed by an indented line of tcp_info fields (`bytes_sent:89 … bytes_received:300127`).
 */
export function parseSs(text: string, atMs: number): SsConnection[] {
  const out: SsConnection[] = [];
  let current: SsConnection | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (!/^\s/.test(line)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[3] ?? "";
      const peer = cols[4] ?? "";
      const proc = /users:\(\("([^"]+)"/.exec(line)?.[1];
      current =
        proc === undefined
          ? undefined
          : {
              process: proc,
              local,
              peer,
              destPort: Number(peer.slice(peer.lastIndexOf(":") + 1)),
              firstMs: atMs,
              lastMs: atMs,
              seen: 1,
              bytesSent: 0,
              bytesRecv: 0,
            };
      if (current) out.push(current);
      continue;
    }
    if (current === undefined) continue;
    current.bytesSent = Number(/\bbytes_sent:(\d+)/.exec(line)?.[1] ?? 0);
    current.bytesRecv = Number(/\bbytes_received:(\d+)/.exec(line)?.[1] ?? 0);
  }
  return out;
}

/**
 * Takes `ss -tinp` snapshots of the connections to `peerIp` inside `ns`
 * every `everyMs` until `signal` aborts (at most `maxSnapshots`), and keeps
 * per connection the first and last time seen and the largest counters.
 */
export async function watchSockets(
  ns: string,
  peerIp: string,
  everyMs: number,
  signal: AbortSignal,
  maxSnapshots = 2000,
): Promise<{ connections: SsConnection[]; snapshots: number }> {
  const byKey = new Map<string, SsConnection>();
  let snapshots = 0;
  while (!signal.aborted && snapshots < maxSnapshots) {
    const at = Date.now();
    const r = await run("ss", ["-tinpH", "dst", peerIp], {
      ns,
      check: false,
      timeoutMs: 10_000,
    });
    snapshots++;
    for (const c of parseSs(r.stdout, at)) {
      const key = `${c.local} ${c.peer}`;
      const seen = byKey.get(key);
      if (seen === undefined) byKey.set(key, c);
      else {
        seen.lastMs = at;
        seen.seen++;
        seen.bytesSent = Math.max(seen.bytesSent, c.bytesSent);
        seen.bytesRecv = Math.max(seen.bytesRecv, c.bytesRecv);
      }
    }
    await sleep(everyMs);
  }
  return { connections: [...byKey.values()], snapshots };
}
