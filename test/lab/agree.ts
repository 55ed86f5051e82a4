import type { NetworkEvent } from "../../gen/netanomaly/v1/telemetry_pb.js";
import type { AttackRecord } from "./attacks.js";
import { eventMs } from "./label.js";
import type { ProgramRun } from "./office.js";
import type { Capture } from "./pcap.js";
import type { SsConnection } from "./sockets.js";

/** One comparison of a collector's figure with the reference it should match. */
export interface Agreement {
  what: string;
  /** What the collector reported. */
  collected: number;
  /** What the reference (the programs, ss, the capture) says. */
  reference: number;
  /** Allowed |collected − reference| / reference. */
  tolerance: number;
  ok: boolean;
  /** What did not match, when something did not. */
  note?: string;
}

/** Connection counts may differ by this share (a connection open across a phase edge). */
export const COUNT_TOLERANCE = 0.02;
/**
 * UDP conversations a live exporter reports may differ from the capture's by
 * this share. softflowd reading the capture itself (`-r`) matches it exactly
 * run after run (319/319, 322/322, 324/324, 327/327); live on the same wire
 * it has been 1 over and 3, 4 and 7 under (of 319–329), the same for its
 * NetFlow v9 and IPFIX processes, with no packet dropped by its capture or
 * datagram by the collectors. Whole exchanges of two datagrams (dig, an
 * NTP-like query) are missing from the live flows; why is not known.
 */
export const LIVE_UDP_TOLERANCE = 0.03;
/** Byte totals may differ by this share. */
export const BYTES_TOLERANCE = 0.01;

/**
 * `slack` is a count the collector may fall short by besides the tolerance:
 * packets its exporter's own capture lost, each of which can hide one
 * conversation.
 */
function agreement(
  what: string,
  collected: number,
  reference: number,
  tolerance: number,
  slack = 0,
): Agreement {
  const short = Math.min(slack, Math.max(0, reference - collected));
  const ok =
    reference === 0
      ? collected === 0
      : Math.abs(collected + short - reference) / reference <= tolerance + Number.EPSILON;
  const note =
    slack > 0
      ? `its exporter's capture dropped ${slack} packet${slack === 1 ? "" : "s"}`
      : undefined;
  return { what, collected, reference, tolerance, ok, ...(note ? { note } : {}) };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * The host collector against what the office programs reported: curl's own
 * byte counts (`%{size_request}+%{size_upload}` sent, `%{size_header}+%{size_download}`
 * received: the payload bytes the kernel counts in tcp_info) and connection
 * counts, ssh connections of scp/rsync, the exfiltration upload, and the user.
 */
export function hostVsPrograms(
  events: readonly NetworkEvent[],
  runs: readonly ProgramRun[],
  attacks: readonly AttackRecord[],
  officeIp: string,
  user: string,
): Agreement[] {
  const curlRuns = runs.filter((r) => r.path === "/usr/bin/curl" && r.ok && r.sent !== undefined);
  // Only the office's curl talks to :80 from the office's own address, so the
  // events there are curl's whether or not the collector could attribute them.
  const curlEvents = events.filter(
    (e) => e.sourceIp === officeIp && e.destPort === 80 && e.protocol.toUpperCase() === "TCP",
  );
  const sshRuns = runs.filter((r) => r.path === "/usr/bin/ssh" && r.ok);
  const sshEvents = events.filter(
    (e) => e.destPort === 22 && e.sourceIp === officeIp && e.protocol.toUpperCase() === "TCP",
  );
  const out = [
    agreement("host: curl connections to :80", curlEvents.length, curlRuns.length, COUNT_TOLERANCE),
    agreement(
      "host: curl bytes sent (curl's %{size_request}+%{size_upload})",
      sum(curlEvents.map((e) => Number(e.bytesSent))),
      sum(curlRuns.map((r) => r.sent ?? 0)),
      BYTES_TOLERANCE,
    ),
    agreement(
      "host: curl bytes received (curl's %{size_header}+%{size_download})",
      sum(curlEvents.map((e) => Number(e.bytesRecv))),
      sum(curlRuns.map((r) => r.recv ?? 0)),
      BYTES_TOLERANCE,
    ),
    agreement(
      "host: ssh connections (scp, rsync)",
      sshEvents.length,
      sshRuns.length,
      COUNT_TOLERANCE,
    ),
  ];
  const upload = attacks.find((a) => a.name === "large-upload");
  const sentByCurl = Number(/curl sent (\d+)/.exec(upload?.detail ?? "")?.[1] ?? Number.NaN);
  if (upload && Number.isFinite(sentByCurl)) {
    const ev = events.filter((e) => e.sourceIp === upload.sourceIp && e.destPort === 4444);
    out.push(
      agreement(
        "host: exfiltration upload bytes sent (curl -T's %{size_upload}+request)",
        sum(ev.map((e) => Number(e.bytesSent))),
        sentByCurl,
        BYTES_TOLERANCE,
      ),
    );
  }
  const office = events.filter((e) => e.sourceIp.startsWith("10.203."));
  const attributed = office.filter((e) => e.processPath !== "");
  const ran = new Set([...runs.map((r) => r.path), ...attacks.map((a) => a.processPath)]);
  out.push(
    agreement(
      "host: attributed office events whose executable is one the lab ran",
      attributed.filter((e) => ran.has(e.processPath)).length,
      attributed.length,
      0,
    ),
  );
  out.push(
    agreement(
      `host: office events attributed to user ${user}`,
      attributed.filter((e) => e.userContext === user).length,
      attributed.length,
      0,
    ),
  );
  return out;
}

/** How many of the office's events the host collector could give a process. */
export function attribution(events: readonly NetworkEvent[]): { attributed: number; of: number } {
  const office = events.filter((e) => e.sourceIp.startsWith("10.203."));
  return { attributed: office.filter((e) => e.processPath !== "").length, of: office.length };
}

/**
 * Every TCP connection `ss -tinp` showed in the office has a host event to
 * the same server port whose byte counters reach at least what ss last showed
 * and whose process, when it has one, is ss's (matched one to one). And a
 * connection ss saw in `LONG_LIVED_SNAPSHOTS` snapshots or more lived long
 * enough for any poll to see it: its event must name ss's process.
 */
export function hostVsSs(
  events: readonly NetworkEvent[],
  ss: readonly SsConnection[],
): Agreement[] {
  const free = events
    .filter((e) => e.protocol.toUpperCase() === "TCP")
    .map((e) => ({ e, used: false }));
  let matched = 0;
  let longLived = 0;
  let longAttributed = 0;
  const missed: string[] = [];
  const unattributed: string[] = [];
  for (const c of [...ss].sort((a, b) => a.firstMs - b.firstMs)) {
    const describe = `${c.process} ${c.local}->${c.peer} sent ${c.bytesSent} recv ${c.bytesRecv}`;
    const candidates = free.filter(
      ({ e, used }) =>
        !used &&
        (e.processPath === "" || basename(e.processPath) === c.process) &&
        e.destPort === c.destPort &&
        Number(e.bytesSent) >= c.bytesSent &&
        Number(e.bytesRecv) >= c.bytesRecv &&
        eventMs(e) >= c.firstMs - 60_000 &&
        eventMs(e) <= c.lastMs + 60_000,
    );
    // Prefer the event that names the process: an unnamed one may be another connection's.
    const hit = candidates.find(({ e }) => e.processPath !== "") ?? candidates[0];
    if (hit) {
      hit.used = true;
      matched++;
    } else {
      missed.push(describe);
    }
    if (c.seen >= LONG_LIVED_SNAPSHOTS) {
      longLived++;
      if (hit && hit.e.processPath !== "") longAttributed++;
      else unattributed.push(describe);
    }
  }
  const found = agreement(
    "host: connections ss -tinp showed, found with >= its byte counters",
    matched,
    ss.length,
    0,
  );
  const named = agreement(
    `host: connections ss showed in >= ${LONG_LIVED_SNAPSHOTS} snapshots, found with ss's process`,
    longAttributed,
    longLived,
    0,
  );
  return [
    missed.length > 0 ? { ...found, note: `not found: ${missed.join("; ")}` } : found,
    unattributed.length > 0 ? { ...named, note: `no process: ${unattributed.join("; ")}` } : named,
  ];
}

/** ss snapshots a connection must appear in to count as long-lived (3 at 0.25 s: over 0.5 s). */
export const LONG_LIVED_SNAPSHOTS = 3;

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * A flow collector against the capture of the same wire: TCP and UDP
 * connections (a conversation in the capture is one event, seen from its
 * initiator) and IP bytes both ways.
 */
export function flowsVsCapture(
  label: string,
  events: readonly NetworkEvent[],
  capture: Capture,
  live: { exporterDropped: number } | undefined,
): Agreement[] {
  const exporterDropped = live?.exporterDropped ?? 0;
  const conv = capture.conversations;
  const count = (proto: string) => events.filter((e) => e.protocol.toUpperCase() === proto).length;
  return [
    agreement(
      `${label}: TCP connections vs capture`,
      count("TCP"),
      conv.filter((c) => c.protocol === "TCP").length,
      COUNT_TOLERANCE,
      exporterDropped,
    ),
    agreement(
      `${label}: UDP conversations vs capture`,
      count("UDP"),
      conv.filter((c) => c.protocol === "UDP").length,
      live ? LIVE_UDP_TOLERANCE : COUNT_TOLERANCE,
      exporterDropped,
    ),
    agreement(
      `${label}: IP bytes both ways vs capture`,
      sum(events.map((e) => Number(e.bytesSent) + Number(e.bytesRecv))),
      sum(conv.map((c) => c.bytesSent + c.bytesRecv)),
      BYTES_TOLERANCE,
    ),
  ];
}

/** The agreements as the lab prints them. */
export function formatAgreements(list: readonly Agreement[]): string {
  return list
    .map(
      (a) =>
        `${a.ok ? "ok  " : "FAIL"} ${a.what}: ${a.collected} vs ${a.reference}` +
        ` (tolerance ${(a.tolerance * 100).toFixed(0)} %)${a.note ? `\n       ${a.note}` : ""}`,
    )
    .join("\n");
}
