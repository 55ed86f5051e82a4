import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRandom, type Random } from "../../detector/index.js";
import type { LabNetwork } from "./netns.js";
import { run, sleep } from "./proc.js";
import { LAB_ZONE, type LabFiles, PORTS, SSH_FILE_BYTES, sshOptions } from "./servers.js";

/** One program the office ran, as the program itself reported it. */
export interface ProgramRun {
  /** The executable, as the host collector should name it. */
  path: string;
  /** What it did, e.g. `curl GET 80000`. */
  what: string;
  startMs: number;
  endMs: number;
  protocol: "TCP" | "UDP";
  destPort: number;
  ok: boolean;
  /** Payload bytes the program sent and received on its main connection, when it reports them. */
  sent?: number;
  recv?: number;
}

/** The office's web names; the resolver answers all of them. */
const NAMES = ["intranet", "files", "wiki", "mail", "crm", "hr", "build"];
/** File sizes fetched, bytes. */
const SIZES = [2_000, 15_000, 80_000, 300_000, 1_000_000];
/** Sizes of the small uploads office users make, bytes. */
const UPLOADS = [8_000, 20_000, 50_000];

/** curl's own report: request and header bytes plus body bytes, each way. */
const CURL_REPORT = "%{size_request} %{size_upload} %{size_header} %{size_download} %{http_code}";

function pick<T>(rng: Random, xs: readonly T[]): T {
  return xs[rng.int(xs.length)] as T;
}

/** Parses curl's `-w CURL_REPORT` output into sent/received payload bytes. */
export function parseCurlReport(text: string): { sent: number; recv: number; status: number } {
  const [request, upload, header, download, status] = text.trim().split(/\s+/).map(Number);
  if ([request, upload, header, download, status].some((n) => n === undefined || Number.isNaN(n)))
    throw new Error(`curl -w printed ${JSON.stringify(text)}, expected five numbers`);
  return {
    sent: (request as number) + (upload as number),
    recv: (header as number) + (download as number),
    status: status as number,
  };
}

/** Runs one curl in the office and reports what it transferred. */
export async function curl(
  ns: string,
  url: string,
  extra: readonly string[] = [],
  path = "/usr/bin/curl",
): Promise<Omit<ProgramRun, "what" | "protocol" | "destPort">> {
  const startMs = Date.now();
  const r = await run(path, ["-s", "-o", "/dev/null", "-w", CURL_REPORT, ...extra, url], {
    ns,
    check: false,
    timeoutMs: 60_000,
  });
  const endMs = Date.now();
  try {
    const { sent, recv, status } = parseCurlReport(r.stdout);
    return { path, startMs, endMs, ok: r.code === 0 && status === 200, sent, recv };
  } catch {
    return { path, startMs, endMs, ok: false };
  }
}

/**
 * Makes the office's programs: each is a real program run once inside the
 * office namespace, reporting what it did.
 */
export function officePrograms(net: LabNetwork, files: LabFiles) {
  const ns = net.office.ns;
  const srv = net.servers.ip;
  const uploads = UPLOADS.map((n) => {
    const file = join(files.dir, `upload-${n}.bin`);
    writeFileSync(file, Buffer.alloc(n, "quarterly report "));
    return file;
  });
  const timed = async (
    path: string,
    what: string,
    protocol: "TCP" | "UDP",
    destPort: number,
    cmd: string,
    args: string[],
    input?: string,
  ): Promise<ProgramRun> => {
    const startMs = Date.now();
    const r = await run(cmd, args, { ns, check: false, timeoutMs: 60_000, input });
    return { path, what, protocol, destPort, startMs, endMs: Date.now(), ok: r.code === 0 };
  };
  return {
    async fetch(rng: Random): Promise<ProgramRun> {
      const size = pick(rng, SIZES);
      const url = `http://${pick(rng, NAMES)}.${LAB_ZONE}/files/${size}`;
      const r = await curl(ns, url);
      return { ...r, what: `curl GET ${size}`, protocol: "TCP", destPort: PORTS.http };
    },
    async upload(rng: Random): Promise<ProgramRun> {
      const file = pick(rng, uploads);
      const r = await curl(ns, `http://files.${LAB_ZONE}/upload`, ["-T", file]);
      return { ...r, what: "curl PUT small", protocol: "TCP", destPort: PORTS.http };
    },
    wget: (rng: Random) =>
      timed("/usr/bin/wget", "wget GET", "TCP", PORTS.intranet, "wget", [
        "-q",
        "-O",
        "/dev/null",
        `http://${pick(rng, NAMES)}.${LAB_ZONE}:${PORTS.intranet}/files/${pick(rng, SIZES)}`,
      ]),
    dig: (rng: Random) =>
      timed("/usr/bin/dig", "dig A", "UDP", PORTS.dns, "dig", [
        `@${srv}`,
        "+short",
        "+tries=1",
        `${pick(rng, NAMES)}.${LAB_ZONE}`,
        "A",
      ]),
    // An NTP client request: 48 bytes, mode 3; the responder answers 48.
    ntp: () =>
      timed(
        "/usr/bin/nc.openbsd",
        "nc NTP-like",
        "UDP",
        PORTS.ntp,
        "nc",
        ["-u", "-w", "1", srv, String(PORTS.ntp)],
        `\x23${"\0".repeat(47)}`,
      ),
    scp: async (): Promise<ProgramRun> => ({
      ...(await timed("/usr/bin/ssh", "scp fetch", "TCP", PORTS.ssh, "scp", [
        ...sshOptions(files),
        `root@files.${LAB_ZONE}:${files.sshFile}`,
        join(files.officeDir, "scp.bin"),
      ])),
      recv: SSH_FILE_BYTES,
    }),
    rsync: async (): Promise<ProgramRun> => ({
      ...(await timed("/usr/bin/ssh", "rsync fetch", "TCP", PORTS.ssh, "rsync", [
        "-a",
        "--whole-file",
        "-e",
        ["ssh", ...sshOptions(files)].join(" "),
        `root@${srv}:${files.sshFile}`,
        join(files.officeDir, `rsync-${Date.now()}.bin`),
      ])),
      recv: SSH_FILE_BYTES,
    }),
  };
}

/** Options of `runOffice`. */
export interface OfficeOptions {
  durationMs: number;
  seed: number;
  /** Stops the schedule early. */
  signal?: AbortSignal;
}

/**
 * Runs normal office traffic for `durationMs`: in each round one to three
 * programs at once (page and file fetches with curl and wget, small uploads,
 * dig lookups, an NTP-like query; an scp or rsync now and then), then a
 * pause of 0.3–1.5 s. Bounded by time and by a round cap; seeded.
 *
 * @returns every program run, in start order.
 */
export async function runOffice(
  net: LabNetwork,
  files: LabFiles,
  options: OfficeOptions,
): Promise<ProgramRun[]> {
  const rng = createRandom(options.seed);
  const p = officePrograms(net, files);
  const weighted: [number, (rng: Random) => Promise<ProgramRun>][] = [
    [5, p.fetch],
    [2, p.wget],
    [4, p.dig],
    [1, p.upload],
    [2, p.ntp],
    [0.4, p.scp],
    [0.3, p.rsync],
  ];
  const total = weighted.reduce((s, [w]) => s + w, 0);
  const choose = () => {
    let x = rng.next() * total;
    for (const [w, f] of weighted) {
      x -= w;
      if (x < 0) return f;
    }
    return p.fetch;
  };
  const runs: ProgramRun[] = [];
  const end = Date.now() + options.durationMs;
  for (let round = 0; round < 1000 && Date.now() < end && !options.signal?.aborted; round++) {
    const n = 1 + rng.int(3);
    const batch = Array.from({ length: n }, () => choose());
    runs.push(...(await Promise.all(batch.map((f) => f(rng)))));
    await sleep(300 + rng.int(1200));
  }
  return runs.sort((a, b) => a.startMs - b.startMs);
}
